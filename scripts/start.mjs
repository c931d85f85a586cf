#!/usr/bin/env node
// `pnpm start`: the demo in one command: three echo backends (127.0.0.1:3001-3003) and the proxy on
// 127.0.0.1:8080 and [::1]:8080 with its admin server on 127.0.0.1:9090. Prints where it listens and a
// curl example once every process it started says it is listening. Ctrl-C (SIGINT), SIGTERM or closing
// the terminal (SIGHUP) stops the proxy first (graceful drain), then the backends, prints
// `Roundguard stopped.` and exits 0. Ports that are taken are reported before anything is started (exit 1). See `--help`.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const USAGE = `Usage: pnpm start [--port N] [--admin-port N] [--echo-ports A,B,C] [--log-format F] [--log-level L]
       node scripts/start.mjs [same options]   (after pnpm build)

Starts echo backends and the Roundguard proxy in front of them, all on loopback.

  --port N             proxy port (default 8080)
  --admin-port N       proxy admin port: /metrics /healthz /readyz /upstreams (default 9090)
  --echo-ports A,B,C   one echo backend per port (default 3001,3002,3003)
  --log-format F       json or pretty (default: pretty on a terminal, json otherwise)
  --log-level L        info or debug (default info; debug also shows every health probe)
  -h, --help           print this help

Ctrl-C, SIGTERM or SIGHUP (closing the terminal) stops everything and exits 0. A port that is already taken
(another demo still running?) is reported and nothing is started (exit 1); a bad option exits 2.
`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Longest wait for every process to say it is listening and for the proxy to be ready. */
const START_TIMEOUT_MS = 20_000;
/**
 * Longest wait for the processes to stop before they are killed: above the apps' own drain and shutdown
 * timeouts (10 s by default), so that it only cuts a process that hangs.
 */
const STOP_TIMEOUT_MS = 15_000;
/** Where the backends and the admin server listen. */
const HOST = '127.0.0.1';
/**
 * Where the proxy listens: IPv4 and IPv6 loopback, so that `localhost` works whichever address it resolves
 * to first (`curl http://[::1]:8080` too). ::1 is left out on a machine without IPv6 (said once at start).
 */
const PROXY_HOSTS = [HOST, '::1'];

const root = fileURLToPath(new URL('..', import.meta.url));

function fail(message, code) {
  process.stderr.write(`pnpm start: ${message}\n`);
  process.exit(code);
}

function parsePort(value, flag) {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535)
    fail(`invalid ${flag} ${JSON.stringify(value)}: expected a port from 1 to 65535`, EXIT_USAGE);
  return Number(value);
}

function parseCommandLine(argv) {
  // `pnpm start -- --port 8081` passes the `--` on: the habit of npm users, harmless.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        'echo-ports': { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${err.message} (see --help)`, EXIT_USAGE);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const proxyPort = parsePort(values.port ?? '8080', '--port');
  const adminPort = parsePort(values['admin-port'] ?? '9090', '--admin-port');
  const echoPorts = (values['echo-ports'] ?? '3001,3002,3003')
    .split(',')
    .map((p) => parsePort(p.trim(), '--echo-ports'));
  const logFormat = values['log-format'] ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (logFormat !== 'json' && logFormat !== 'pretty')
    fail(`invalid --log-format ${JSON.stringify(logFormat)}: expected json or pretty`, EXIT_USAGE);
  // Not warn or error: the demo knows a process is up from its `listening` record, written at info.
  const logLevel = values['log-level'] ?? 'info';
  if (logLevel !== 'info' && logLevel !== 'debug')
    fail(`invalid --log-level ${JSON.stringify(logLevel)}: expected info or debug`, EXIT_USAGE);
  const all = [proxyPort, adminPort, ...echoPorts];
  const repeated = all.find((port, i) => all.indexOf(port) !== i);
  if (repeated !== undefined) fail(`port ${repeated} is given twice: every port must differ`, EXIT_USAGE);
  return { proxyPort, adminPort, echoPorts, logFormat, logLevel };
}

/** Resolves with the error code when `host:port` cannot be listened on (e.g. `EADDRINUSE`), else undefined. */
function listenError(host, port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => resolve(err.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function hostPort(host, port) {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether this machine has an IPv6 loopback address to listen on. */
async function hasIpv6Loopback() {
  const code = await listenError('::1', 0);
  return code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT';
}

/** Exits 1 with one line per port that is taken, before anything is started. */
async function checkPortsFree(ports) {
  const problems = [];
  for (const { port, role, hosts } of ports) {
    for (const host of hosts) {
      const code = await listenError(host, port);
      if (code === 'EADDRINUSE') problems.push(`port ${port} (${role}) is already in use on ${host}`);
      else if (code !== undefined)
        problems.push(`cannot listen on ${hostPort(host, port)} (${role}): ${code}`);
    }
  }
  if (problems.length === 0) return;
  for (const problem of problems) process.stderr.write(`pnpm start: ${problem}\n`);
  fail(
    'nothing was started. Is another `pnpm start` still running? Stop it, or choose other ports: ' +
      'pnpm start --port N --admin-port N --echo-ports A,B,C',
    EXIT_FAILED,
  );
}

// The terminal may be gone (SIGHUP) or the reader of a pipe may have left: output is lost, the stop goes on.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

/**
 * The `pid` of a `listening` record, in either log format, or undefined for any other line. Both apps write
 * that record once they listen and handle signals, with their pid.
 */
function listeningPid(line) {
  const text = stripVTControlCharacters(line);
  if (text.startsWith('{')) {
    try {
      const record = JSON.parse(text);
      return record.msg === 'listening' && typeof record.pid === 'number' ? record.pid : undefined;
    } catch {
      return undefined;
    }
  }
  // pretty: `22:10:00.123 INFO  echo-3001 listening host=127.0.0.1 port=3001 ... pid=1234`
  if (!/^\S+ INFO +\S+ listening( |$)/.test(text)) return undefined;
  const pid = /(?:^| )pid=([0-9]+)(?: |$)/.exec(text);
  return pid ? Number(pid[1]) : undefined;
}

const children = [];
let stopping = false;
let running = false;

/** Starts one app; `listening` resolves once the process itself says it listens, rejects if it exits first. */
function run(label, file, args, nodeOptions = []) {
  // detached (a session of its own): signals from the terminal reach only this script, which stops the
  // children in order; and the proxy would take the terminal's SIGHUP for a config reload.
  const child = spawn(process.execPath, [...nodeOptions, file, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let onListening;
  const listening = new Promise((resolve) => (onListening = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    if (listeningPid(line) === child.pid) onListening();
  });
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));
  const exited = new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, err }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const entry = { label, child, exited, done: false };
  void exited.then((how) => {
    entry.done = true;
    if (stopping) return;
    const what = how.err ? how.err.message : how.signal ? `signal ${how.signal}` : `code ${how.code}`;
    const when = running ? 'exited unexpectedly' : 'exited before it was listening';
    process.stderr.write(`pnpm start: ${label} ${when} (${what}); stopping everything\n`);
    void stop(EXIT_FAILED);
  });
  entry.listening = Promise.race([
    listening,
    exited.then(() => Promise.reject(new Error(`${label} is not running`))),
  ]);
  children.push(entry);
  return entry;
}

/** Polls `url` until it answers 200; rejects if `entry`'s process exits first. */
async function answers200(url, entry) {
  while (!entry.done && !stopping) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${entry.label} is not running`);
}

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  const wasRunning = running;
  const killer = setTimeout(() => {
    for (const { label, child, done } of children) {
      if (done) continue;
      process.stderr.write(`pnpm start: ${label} did not stop within ${STOP_TIMEOUT_MS} ms; killing it\n`);
      child.kill('SIGKILL');
    }
  }, STOP_TIMEOUT_MS);
  // The proxy drains first, so no request in flight loses its backend; then the backends stop.
  for (const group of [
    children.filter((c) => c.label === 'proxy'),
    children.filter((c) => c.label !== 'proxy'),
  ]) {
    for (const { child, done } of group) if (!done) child.kill('SIGTERM');
    await Promise.all(group.map((c) => c.exited));
  }
  clearTimeout(killer);
  // One line for a stop that was asked for, or of a demo that was running; a failed start has said why.
  if (wasRunning || code === 0) process.stdout.write('Roundguard stopped.\n');
  process.exit(code);
}

// Whatever ends this script (a crash included) ends the children with it.
process.on('exit', () => {
  for (const { child, done } of children) if (!done) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(0));

const { proxyPort, adminPort, echoPorts, logFormat, logLevel } = parseCommandLine(process.argv.slice(2));
const proxyHosts = (await hasIpv6Loopback()) ? PROXY_HOSTS : [HOST];
if (proxyHosts.length < PROXY_HOSTS.length)
  process.stderr.write(
    'pnpm start: no IPv6 loopback (::1) on this machine: the proxy listens on 127.0.0.1 only\n',
  );
await checkPortsFree([
  { port: proxyPort, role: 'proxy', hosts: proxyHosts },
  { port: adminPort, role: 'proxy admin', hosts: [HOST] },
  ...echoPorts.map((port) => ({ port, role: `echo-${port}`, hosts: [HOST] })),
]);

// Given as flags, they take precedence over ECHO_* and ROUNDGUARD_* variables of the environment.
const logArgs = ['--log-format', logFormat, '--log-level', logLevel];
const echoes = [];
try {
  for (const port of echoPorts) {
    if (stopping) break;
    const name = `echo-${port}`;
    echoes.push(
      run(name, 'apps/echo/dist/main.js', [
        ...['--port', String(port), '--host', HOST, '--name', name, ...logArgs],
      ]),
    );
  }
  await within(
    Promise.all(echoes.map((e) => e.listening)),
    START_TIMEOUT_MS,
    'the echo backends did not all start',
  );
  if (!stopping) {
    // Run as the container image runs it: with the young generation its README recommends.
    const proxy = run(
      'proxy',
      'apps/proxy/dist/main.js',
      [
        ...['--port', String(proxyPort), ...proxyHosts.flatMap((host) => ['--host', host])],
        ...['--admin-port', String(adminPort), '--admin-host', HOST],
        ...echoPorts.flatMap((port) => ['--upstream', `http://${hostPort(HOST, port)}`]),
        ...logArgs,
      ],
      ['--max-semi-space-size=2'],
    );
    await within(proxy.listening, START_TIMEOUT_MS, 'the proxy did not start');
    // Listening is not enough: ready once it has found a backend in rotation.
    await within(
      answers200(`http://${hostPort(HOST, adminPort)}/readyz`, proxy),
      START_TIMEOUT_MS,
      'the proxy did not become ready',
    );
  }
} catch (err) {
  // A process that exited has already said so and started the stop.
  if (!stopping) {
    process.stderr.write(`pnpm start: ${err.message}; stopping everything\n`);
    void stop(EXIT_FAILED);
  }
}

if (!stopping) {
  running = true;
  const backends = echoPorts.map((port, i) => (i === 0 ? `http://${hostPort(HOST, port)}` : `:${port}`));
  process.stdout.write(`
Roundguard is running.
  proxy:    http://localhost:${proxyPort}   (${proxyHosts.map((h) => hostPort(h, proxyPort)).join(' and ')})
            round robin over ${backends.join(', ')}
  admin:    http://${hostPort(HOST, adminPort)}/metrics  /healthz  /readyz  /upstreams

Try it:
  curl -i -X POST http://localhost:${proxyPort}/hello -H 'content-type: application/json' -d '{"hello":"world"}'

Press Ctrl-C to stop.
`);
}
