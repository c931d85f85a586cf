-- wrk script: POST a 100-byte JSON body with Content-Type application/json.
wrk.method = "POST"
wrk.body = '{"id":1234567,"name":"roundguard","tags":["alpha","beta","gamma"],"ok":true,"pad":"xxxxxxxxxxxxxxx"}'
wrk.headers["Content-Type"] = "application/json"
