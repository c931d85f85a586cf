// Echo backend for `pnpm bench` (node:http only, no framework, no validation), one per upstream.
//   POST <any path>  -> 200, the request body echoed back, Content-Type: application/json
//   GET  /health     -> 200 "ok"
//   GET  /__stats    -> 200 JSON counters; read by the harness directly, never through a proxy, and not counted
// Usage: node backend.mjs PORT ID
import http from 'node:http';

const port = Number(process.argv[2]);
const id = process.argv[3] ?? `b${port}`;
const stats = { id, post: 0, health: 0, other: 0 };

const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    const body = JSON.stringify(stats);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method === 'POST') {
    stats.post++;
    const chunks = [];
    let length = 0;
    req.on('data', (chunk) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': length, 'x-backend': id });
      res.end(body);
    });
    return;
  }
  const health = req.method === 'GET' && req.url === '/health';
  if (health) stats.health++;
  else stats.other++;
  res.writeHead(health ? 200 : 404, { 'content-type': 'text/plain', 'content-length': 2, 'x-backend': id });
  res.end(health ? 'ok' : 'no');
});

// Idle keep-alive longer than any proxy's upstream pool idle time, so pooled connections are never closed
// under a proxy between runs (that race would be the backend's fault, not the proxy's).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(port, '127.0.0.1', () => process.stdout.write(`backend ${id} on 127.0.0.1:${port}\n`));
process.on('SIGTERM', () => process.exit(0));
