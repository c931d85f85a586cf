// The baseline of bench/echo-vs-bare.mjs: a node:http server that echoes the body with no checks at all
// (no routing, no content type, no size limit, no JSON validation, no logs, no metrics).
//
//   node bench/bare-echo.mjs [--batched] PORT
//
// --batched writes the responses at the end of the event-loop turn, as echo does (src/end-of-turn-batch.ts):
// against that baseline the ratio shows what echo's checks, log and metrics cost with the same way of writing.
import { createServer } from 'node:http';

const port = Number(process.argv[process.argv.length - 1]) || 0;
const batched = process.argv.includes('--batched');

function answer(res, body) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

const pending = [];
function flush() {
  for (let i = 0; i < pending.length; i += 2) answer(pending[i], pending[i + 1]);
  pending.length = 0;
}
function answerAtEndOfTurn(res, body) {
  if (pending.push(res, body) === 2) setImmediate(flush);
}

const reply = batched ? answerAtEndOfTurn : answer;
createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => reply(res, Buffer.concat(chunks)));
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => process.exit(0));
