#!/usr/bin/env node
// `pnpm --filter proxy soak [-- --duration S]`: a bounded soak test of the built proxy (run `pnpm build`
// first; this script builds nothing). Starts 3 echo backends (apps/echo/dist/main.js) and the proxy
// (apps/proxy/dist/main.js) on free loopback ports, drives load for --duration seconds (wrk with a Lua
// script of mixed body sizes when wrk is installed, else a built-in keep-alive Node.js loop), and on the
// side keeps sending aborted uploads and downloads and malformed requests over raw sockets. Samples the
// proxy's RSS and open descriptors every second; after a warm-up (the first third) fits a linear trend,
// and exits 1 when memory or descriptors grow (see LIMITS), or when descriptors do not come back to the
// idle baseline once the load stops. Prints a summary table. Never part of `pnpm test`.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  fdCount,
  freePort,
  MiB,
  RawClient,
  request,
  rssBytes,
  sleep,
  spawnLogged,
  stopAllProcesses,
  waitFor,
} from '@roundguard/testkit';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROXY_MAIN = path.resolve(HERE, '../dist/main.js');
const ECHO_MAIN = path.resolve(HERE, '../../echo/dist/main.js');

/** Failure thresholds, over the samples after the warm-up. */
const LIMITS = {
  /** RSS fails when it grows faster than this AND by more than rssGrowthMiB in total. */
  rssSlopeMiBPerMin: 2,
  rssGrowthMiB: 20,
  /** Descriptors fail when they trend up faster than this AND grow by more than fdGrowth. */
  fdSlopePerMin: 2,
  fdGrowth: 10,
  /** Once the load stops, descriptors must come back within this many of the idle baseline. */
  fdIdleSlack: 5,
};

const { values: opts } = parseArgs({
  // `pnpm --filter proxy soak -- --duration 30` passes the `--` through.
  args: process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--')),
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '32' },
    'no-wrk': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(
    'Usage: pnpm --filter proxy soak [-- --duration S] [--connections N] [--no-wrk]\n' +
      'Run `pnpm build` first. Exits 1 when the proxy RSS or descriptors grow during the load.\n',
  );
  process.exit(0);
}
const DURATION_S = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
if (!(DURATION_S >= 6) || !(CONNECTIONS >= 1)) {
  process.stderr.write('soak: --duration must be >= 6 (seconds) and --connections >= 1\n');
  process.exit(2);
}
for (const file of [PROXY_MAIN, ECHO_MAIN]) {
  try {
    readFileSync(file);
  } catch {
    process.stderr.write(`soak: ${file} is missing: run \`pnpm build\` first\n`);
    process.exit(2);
  }
}

const log = (msg) => process.stderr.write(`[soak] ${msg}\n`);
/** wrk, when it runs (the node processes are @roundguard/testkit's, stopped by stopAllProcesses). */
const children = new Set();

function stopAll() {
  for (const child of children) child.kill('SIGKILL');
  void stopAllProcesses();
}
process.on('exit', stopAll);
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

/** Waits until GET /health on 127.0.0.1:port answers 200 (10 s at most). */
function waitForHealth(port) {
  return waitFor(
    () =>
      request(`http://127.0.0.1:${port}/health`, { timeoutMs: 1000 }).then(
        (res) => res.status === 200,
        () => false,
      ),
    `the echo backend on port ${port}`,
    10_000,
    50,
  );
}

/** Least-squares slope (per second) of y over t (seconds). */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

/** A JSON body of about `size` bytes. */
const jsonBody = (size) => JSON.stringify({ pad: 'x'.repeat(Math.max(0, size - 10)) });

// --- main load: wrk with a Lua script, or a Node.js loop ---

const WRK_LUA = `
-- Mixed JSON bodies: mostly small, some 1 KiB and 16 KiB, a few 100 KiB (streamed, above 64 KiB).
local function body(n) return '{"pad":"' .. string.rep("x", n - 10) .. '"}' end
local bodies = { body(32), body(1024), body(16384), body(102400) }
local counter = 0
request = function()
  counter = counter + 1
  local r = counter % 100
  local b
  if r < 70 then b = bodies[1] elseif r < 85 then b = bodies[2] elseif r < 97 then b = bodies[3] else b = bodies[4] end
  return wrk.format("POST", "/soak/" .. r, { ["Content-Type"] = "application/json" }, b)
end
`;

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    const file = path.join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

function runWrk(wrk, url, seconds) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roundguard-soak-'));
  const script = path.join(dir, 'mixed.lua');
  writeFileSync(script, WRK_LUA);
  return new Promise((resolve) => {
    const child = spawn(
      wrk,
      ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t) => (out += t));
    child.on('exit', () => {
      children.delete(child);
      rmSync(dir, { recursive: true, force: true });
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = socket ? socket.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
      resolve({ tool: 'wrk', requests, errors: non2xx + socketErrors, detail: out.trim() });
    });
  });
}

async function runNodeLoad(url, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const sizes = [32, 32, 32, 32, 32, 32, 32, 1024, 1024, 16384, 102400];
  const deadline = Date.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const worker = async (w) => {
    for (let i = w; Date.now() < deadline; i++) {
      const body = jsonBody(sizes[i % sizes.length]);
      const ok = await new Promise((resolve) => {
        const req = http.request(`${url}/soak/${i % 100}`, {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        });
        req.on('error', () => resolve(false));
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
          res.on('error', () => resolve(false));
        });
        req.end(body);
      });
      requests++;
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
  agent.destroy();
  return { tool: 'node', requests, errors, detail: '' };
}

// --- side loop: aborted and malformed requests over raw sockets ---

const MALFORMED = [
  'GET /a b HTTP/1.1\r\nhost: t\r\n\r\n',
  'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
  'POST / HTTP/1.1\r\nhost: t\r\nexpect: foo\r\ncontent-length: 2\r\n\r\n{}',
  `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`,
  'SSH-2.0-OpenSSH_9.6\r\n\r\n',
  'CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n',
  'GET / HTTP/1.1\r\nhost: t\r\nx-a: a\x00b\r\n\r\n',
];

/** One raw exchange: write, then wait for the close (or give up after `ms`). */
async function rawOnce(port, write, ms) {
  const client = await RawClient.connect(port).catch(() => undefined);
  if (client === undefined) return;
  write(client.socket);
  await client.waitUntil(() => (client.closed ? true : undefined), ms);
  client.destroy();
}

async function sideLoop(port, until, counts) {
  const json = jsonBody(512 * 1024);
  for (let i = 0; Date.now() < until; i++) {
    const kind = i % 5;
    if (kind === 0) {
      // Aborted upload: 1 MiB announced, 64 KiB sent, then gone.
      await rawOnce(
        port,
        (s) => {
          s.write(
            `POST /abort-up HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 1048576\r\n\r\n`,
          );
          s.write(Buffer.alloc(64 * 1024, 0x20), () => setTimeout(() => s.destroy(), 5));
        },
        2000,
      );
      counts.abortedUploads++;
    } else if (kind === 1) {
      // Aborted download: a 512 KiB echo, the client leaves after the first bytes of the answer.
      await rawOnce(
        port,
        (s) => {
          s.once('data', () => s.destroy());
          s.write(
            `POST /abort-down HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n${json}`,
          );
        },
        2000,
      );
      counts.abortedDownloads++;
    } else if (kind === 2) {
      // A silent connection, and one with half a head, that go away.
      await Promise.all([
        rawOnce(port, (s) => setTimeout(() => s.destroy(), 30), 1000),
        rawOnce(
          port,
          (s) => {
            s.write('GET / HTTP/1.1\r\nhost: t\r\n');
            setTimeout(() => s.destroy(), 30);
          },
          1000,
        ),
      ]);
      counts.silent += 2;
    } else {
      await rawOnce(port, (s) => s.write(MALFORMED[i % MALFORMED.length]), 2000);
      counts.malformed++;
    }
    await sleep(20);
  }
}

// --- run ---

log(`starting 3 echo backends and the proxy (duration ${DURATION_S} s, ${CONNECTIONS} connections)`);
// The backends log at warn (no access log to read): they get free ports picked here and are polled on /health.
const echoPorts = await Promise.all([1, 2, 3].map(() => freePort()));
const env = { ...process.env, NO_COLOR: '1' };
const echoes = echoPorts.map((p, i) =>
  spawnLogged(
    ECHO_MAIN,
    [
      '--host',
      '127.0.0.1',
      '--port',
      String(p),
      '--name',
      `soak-${i + 1}`,
      '--log-format',
      'json',
      '--log-level',
      'warn',
    ],
    env,
    { select: () => false },
  ),
);
await Promise.all(echoPorts.map((p) => waitForHealth(p)));
const upstreams = echoPorts.map((p) => `http://127.0.0.1:${p}`);
// Only the `listening` record is parsed: the access log of the whole soak is counted, not kept.
const proxy = spawnLogged(
  PROXY_MAIN,
  [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--admin-port',
    '0',
    '--log-format',
    'json',
    ...upstreams.flatMap((u) => ['--upstream', u]),
  ],
  env,
  { select: (line) => line.includes('"listening"') },
);
const listening = await proxy.waitForRecord((r) => r.msg === 'listening');
const pid = proxy.pid;
const port = listening.port;
const url = `http://127.0.0.1:${port}`;
await sleep(500);
const idleBaseline = fdCount(pid);

const samples = [];
const startedAt = Date.now();
const sampler = setInterval(() => {
  try {
    samples.push({ t: (Date.now() - startedAt) / 1000, rss: rssBytes(pid), fds: fdCount(pid) });
  } catch {
    // the proxy is gone: reported below
  }
}, 1000);

const wrk = opts['no-wrk'] ? undefined : which('wrk');
log(`load: ${wrk ? `wrk (${wrk})` : 'built-in Node.js loop'}; side loop: aborted and malformed requests`);
const side = { abortedUploads: 0, abortedDownloads: 0, silent: 0, malformed: 0 };
const deadline = Date.now() + DURATION_S * 1000;
const [load] = await Promise.all([
  wrk ? runWrk(wrk, url, DURATION_S) : runNodeLoad(url, DURATION_S),
  sideLoop(port, deadline, side),
]);
clearInterval(sampler);
const proxyAlive = proxy.child.exitCode === null && proxy.child.signalCode === null;

// Once the load stops, idle upstream connections close after 4 s: descriptors must come back.
let fdsAfter = Number.NaN;
for (let i = 0; i < 20 && proxyAlive; i++) {
  await sleep(500);
  fdsAfter = fdCount(pid);
  if (fdsAfter <= idleBaseline + LIMITS.fdIdleSlack && i >= 10) break;
}

const warm = samples.filter((s) => s.t >= DURATION_S / 3);
const rssSlope = slope(warm.map((s) => ({ t: s.t, y: s.rss / MiB }))) * 60;
const fdSlope = slope(warm.map((s) => ({ t: s.t, y: s.fds }))) * 60;
const head = warm.slice(0, 5);
const tail = warm.slice(-5);
const rssGrowth = (mean(tail.map((s) => s.rss)) - mean(head.map((s) => s.rss))) / MiB;
const fdGrowth = mean(tail.map((s) => s.fds)) - mean(head.map((s) => s.fds));
const rss = samples.map((s) => s.rss / MiB);
const fds = samples.map((s) => s.fds);

const failures = [];
if (!proxyAlive) failures.push('the proxy exited during the soak');
if (rssSlope > LIMITS.rssSlopeMiBPerMin && rssGrowth > LIMITS.rssGrowthMiB)
  failures.push(
    `RSS grows: ${rssSlope.toFixed(2)} MiB/min and +${rssGrowth.toFixed(1)} MiB after the warm-up`,
  );
if (fdSlope > LIMITS.fdSlopePerMin && fdGrowth > LIMITS.fdGrowth)
  failures.push(`descriptors grow: ${fdSlope.toFixed(2)}/min and +${fdGrowth.toFixed(1)} after the warm-up`);
if (!(fdsAfter <= idleBaseline + LIMITS.fdIdleSlack))
  failures.push(`descriptors did not come back after the load: ${fdsAfter} vs ${idleBaseline} at rest`);
if (load.requests === 0) failures.push('no request completed');

const f1 = (x) => x.toFixed(1);
const rows = [
  ['load tool', load.tool],
  ['duration', `${DURATION_S} s (${samples.length} samples, warm-up ${f1(DURATION_S / 3)} s)`],
  ['requests (main load)', String(load.requests)],
  ['req/s', f1(load.requests / DURATION_S)],
  ['errors (main load)', `${load.errors} (${f1((100 * load.errors) / Math.max(1, load.requests))} %)`],
  ['side: aborted uploads / downloads', `${side.abortedUploads} / ${side.abortedDownloads}`],
  ['side: malformed / silent', `${side.malformed} / ${side.silent}`],
  ['proxy log lines', String(proxy.lines())],
  [
    'rss start / end / max (MiB)',
    `${f1(rss[0] ?? NaN)} / ${f1(rss.at(-1) ?? NaN)} / ${f1(Math.max(...rss))}`,
  ],
  [
    'rss slope after warm-up',
    `${rssSlope.toFixed(2)} MiB/min (limit ${LIMITS.rssSlopeMiBPerMin}), growth ${f1(rssGrowth)} MiB (limit ${LIMITS.rssGrowthMiB})`,
  ],
  ['fds idle / start / end / max', `${idleBaseline} / ${fds[0]} / ${fds.at(-1)} / ${Math.max(...fds)}`],
  [
    'fds slope after warm-up',
    `${fdSlope.toFixed(2)}/min (limit ${LIMITS.fdSlopePerMin}), growth ${f1(fdGrowth)} (limit ${LIMITS.fdGrowth})`,
  ],
  ['fds after the load', `${fdsAfter} (idle baseline ${idleBaseline} + ${LIMITS.fdIdleSlack})`],
  ['result', failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`],
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(`\nRoundguard soak\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
for (const [name, child] of [['proxy', proxy], ...echoes.map((e, i) => [`echo ${i + 1}`, e])]) {
  if (child.stderr() !== '') process.stderr.write(`[soak] ${name} stderr:\n${child.stderr()}`);
}
stopAll();
process.exit(failures.length === 0 ? 0 : 1);
