// WebSocket load generator for `pnpm bench`: CONNECTIONS clients on ws://127.0.0.1:PORT/ws, each keeping
// WINDOW messages of SIZE bytes in flight (a new one is sent as each echo comes back) for SECONDS, then
// prints one JSON line: messages echoed, seconds, errors, this process's CPU seconds.
// Usage: node ws-load.mjs PORT CONNECTIONS WINDOW SIZE SECONDS
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/proxy/package.json'),
);
const { WebSocket } = require('ws');

const [port, connections, window, size, seconds] = process.argv.slice(2).map(Number);
const payload = Buffer.alloc(size, 0x61);
let messages = 0;
let errors = 0;
let running = true;

const open = (ws) =>
  new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
const sockets = Array.from(
  { length: connections },
  () => new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false }),
);
await Promise.all(sockets.map(open));
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (const ws of sockets) {
  ws.on('error', () => errors++);
  ws.on('message', (data) => {
    if (data.length !== size) errors++;
    if (!running) return;
    messages++;
    ws.send(payload);
  });
  for (let i = 0; i < window; i++) ws.send(payload);
}
setTimeout(() => {
  running = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${JSON.stringify({ messages, seconds: elapsed, errors, cpuS: (cpu.user + cpu.system) / 1e6 })}\n`,
  );
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}, seconds * 1000);
