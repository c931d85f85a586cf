// A second baseline for bench/echo-vs-bare.mjs (`--bare-batched`): the bare echo of bare-echo.mjs (no checks,
// no logs, no metrics), but writing its responses at the end of the event-loop turn as echo does
// (src/end-of-turn-batch.ts). Against it, the ratio shows what echo's checks, log and metrics cost with the
// same way of writing.
import { createServer } from 'node:http';

const port = Number(process.argv[process.argv.length - 1]) || 0;
const pending = [];
function flush() {
  for (let i = 0; i < pending.length; i += 2) {
    const res = pending[i];
    const body = pending[i + 1];
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  }
  pending.length = 0;
}
createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (pending.push(res, Buffer.concat(chunks)) === 2) setImmediate(flush);
  });
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => process.exit(0));
