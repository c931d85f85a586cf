#!/usr/bin/env node
// `pnpm start`: three echo backends on 127.0.0.1:3001-3003 and the proxy on :8080 (admin on
// 127.0.0.1:9090), in one command. Prints where it listens and a curl example; Ctrl-C (SIGINT) or
// SIGTERM stops the proxy first (graceful drain), then the backends, and exits 0.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const format = process.stdout.isTTY ? 'pretty' : 'json';
const children = [];
let stopping = false;

function run(label, file, args) {
  // detached: a terminal's Ctrl-C reaches only this script, which then stops the children in order.
  const child = spawn(process.execPath, [file, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const forward = (stream, out) =>
    createInterface({ input: stream }).on('line', (line) => out.write(`${line}\n`));
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    if (!stopping) {
      process.stderr.write(
        `${label} exited unexpectedly (code ${code}, signal ${signal}); stopping everything\n`,
      );
      void stop(1);
    }
  });
  const entry = { label, child, exited };
  children.push(entry);
  return entry;
}

async function waitFor(url, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  // The proxy drains first, so no request in flight loses its backend; then the backends stop.
  for (const group of [
    children.filter((c) => c.label === 'proxy'),
    children.filter((c) => c.label !== 'proxy'),
  ]) {
    for (const { child } of group) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(group.map((c) => c.exited));
  }
  process.exit(code);
}

process.on('exit', () => {
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const echo = 'apps/echo/dist/main.js';
for (const port of [3001, 3002, 3003]) {
  run(`echo-${port}`, echo, ['--port', String(port), '--name', `echo-${port}`, '--log-format', format]);
}
try {
  await Promise.all([3001, 3002, 3003].map((port) => waitFor(`http://127.0.0.1:${port}/health`)));
  run('proxy', 'apps/proxy/dist/main.js', [
    '--config',
    'apps/proxy/config/default.json',
    '--log-format',
    format,
  ]);
  await waitFor('http://127.0.0.1:9090/readyz');
} catch (err) {
  process.stderr.write(`pnpm start: ${err.message}\n`);
  await stop(1);
}

process.stdout.write(`
Roundguard is running.
  proxy:    http://localhost:8080   (round robin over http://127.0.0.1:3001, :3002, :3003)
  admin:    http://127.0.0.1:9090/metrics  /healthz  /readyz  /upstreams

Try it:
  curl -i -X POST http://localhost:8080/hello -H 'content-type: application/json' -d '{"hello":"world"}'

Press Ctrl-C to stop.
`);
