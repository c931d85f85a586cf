// WebSocket echo backend for `pnpm bench` (the `ws` package, as apps/proxy's tests use it): every message
// is sent back as it came (text or binary). GET /health -> 200. Usage: node ws-backend.mjs PORT
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `ws` is a dev dependency of apps/proxy (the root package has none of its own).
const require = createRequire(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/proxy/package.json'),
);
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-length': '2' });
  res.end('ok');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(Number(process.argv[2]), '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
