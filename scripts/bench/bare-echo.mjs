// The baseline of the echo-app row of `pnpm bench`: a node:http server that echoes any request body with
// no checks at all (no routing, no content-type or size check, no JSON validation, no logs, no metrics).
// Usage: node bare-echo.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2]);
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
