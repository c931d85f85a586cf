-- wrk script for `pnpm bench`.
--   WRK_BODY_FILE set   -> POST that file's bytes with Content-Type: application/json
--   WRK_BODY_FILE unset -> plain GET of the URL's path
-- done() prints one machine-readable line, "WRKJSON {...}" (latencies in microseconds). wrk itself counts
-- only status >= 400 as errors; WRK_COUNT_NON2XX=1 adds a response() hook that counts every non-2xx
-- status (non2xx), at some cost in wrk CPU (wrk then parses every response for Lua).
local path = os.getenv("WRK_BODY_FILE")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  local body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("WRK_COUNT_NON2XX") == "1" then
  non2xx = 0
  function response(status, headers, body)
    if status < 200 or status > 299 then
      non2xx = non2xx + 1
    end
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"non2xx":%d,"lat_mean_us":%.1f,"lat_max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, n,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
