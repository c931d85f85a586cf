// The baseline of bench/echo-vs-bare.mjs: a node:http server that echoes the body with no checks at all
// (no routing, no content type, no size limit, no JSON validation, no logs, no metrics).
import { createServer } from 'node:http';

const port = Number(process.argv[process.argv.length - 1]) || 0;
createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => process.exit(0));
