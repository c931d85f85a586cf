// `pnpm start` (scripts/start.mjs) end to end: the demo is started for real (echo backends and the proxy, as
// built by `pnpm build`) on free loopback ports, then stopped the ways a user stops it: Ctrl-C (SIGINT to the
// terminal's foreground process group), closing the terminal (SIGHUP to it), SIGTERM; and started a second
// time on ports that are taken. Every process of the demo is found (the script and pnpm by process group,
// the apps by the pid of their `listening` records) and checked to be gone, and every port to be free.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START = join(ROOT, 'scripts', 'start.mjs');
/** What `pnpm start` runs before the demo itself; the tests run against what is already built. */
const BUILD_STEP = 'pnpm build && ';
/** A demo start takes a few seconds; on a busy 2-core machine many more. */
const RUNNING_TIMEOUT_MS = 30_000;
const STOPPED_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;

interface DemoPorts {
  proxy: number;
  admin: number;
  echoes: number[];
}

interface Demo {
  readonly child: ChildProcess;
  /** The process group of everything started in it (the spawned process leads it). */
  readonly pgid: number;
  output(): string;
  stdout(): string;
  stderr(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Settles once the spawned process has exited and every holder of its stdout/stderr has closed them. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: { demo: Demo; pids: Set<number> }[] = [];
const servers: Server[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  // A test that failed may leave processes behind (that is the bug it looks for): kill them all.
  for (const { demo, pids } of started.splice(0)) {
    for (const pid of [...groupMembers(demo.pgid), ...pids, ...listeningPids(demo.stdout())]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Ports that are free on 127.0.0.1 right now (held together while chosen, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const held = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = held.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function demoPorts(): Promise<DemoPorts> {
  const [proxy, admin, ...echoes] = await freePorts(5);
  return { proxy: proxy!, admin: admin!, echoes };
}

function portArgs(ports: DemoPorts): string[] {
  return [
    ...['--port', String(ports.proxy), '--admin-port', String(ports.admin)],
    ...['--echo-ports', ports.echoes.join(',')],
  ];
}

/** The environment of the test run without what would change the demo or the inner pnpm. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|PNPM_|ROUNDGUARD_|ECHO_)/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/**
 * A package whose `start` script is the repository's own minus the build step (built already), with
 * `scripts/` linked to the repository's: `pnpm start` in it runs the demo exactly as the real one does.
 */
function packageWithStartScript(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  expect(pkg.scripts.start.startsWith(BUILD_STEP)).toBe(true);
  const dir = mkdtempSync(join(tmpdir(), 'roundguard-demo-'));
  tempDirs.push(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'demo-start-test',
      private: true,
      scripts: { start: pkg.scripts.start.slice(BUILD_STEP.length) },
    }),
  );
  symlinkSync(join(ROOT, 'scripts'), join(dir, 'scripts'), 'dir');
  return dir;
}

/**
 * Starts the demo as `node scripts/start.mjs ...` or as `pnpm start ...`, in a process group of its own
 * (as a shell starts a job), so that the test can signal the whole group as a terminal does.
 */
function startDemo(via: 'node' | 'pnpm', args: string[]): Demo {
  const [command, argv, cwd] =
    via === 'node'
      ? [process.execPath, [START, ...args], ROOT]
      : ['pnpm', ['start', ...args], packageWithStartScript()];
  const child = spawn(command, argv, {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let all = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    all += text;
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    all += text;
    for (const wake of waiters) wake();
  });
  let isClosed = false;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      isClosed = true;
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });
  const demo: Demo = {
    child,
    pgid: child.pid!,
    output: () => all,
    stdout: () => stdout,
    stderr: () => stderr,
    closed,
    waitForOutput: (pattern, timeoutMs = RUNNING_TIMEOUT_MS) =>
      new Promise((resolve, reject) => {
        const finish = (err?: Error): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        const check = (): void => {
          if (pattern.test(all)) finish();
          else if (isClosed) finish(new Error(`the demo ended before printing ${pattern}; output:\n${all}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${all}`)),
          timeoutMs,
        );
        waiters.add(check);
        check();
      }),
  };
  started.push({ demo, pids: new Set() });
  return demo;
}

/** Resolves with what `promise` resolves with, or rejects after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON records of an output, skipping the lines that are not records. */
function records(output: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a record
    }
  }
  return out;
}

/** The pid of every process that wrote a `listening` record. */
function listeningPids(output: string): number[] {
  return records(output)
    .filter((r) => r.msg === 'listening')
    .map((r) => r.pid as number);
}

/** `/proc/<pid>/stat` of a process: its state letter and process group; undefined once it is gone. */
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses, so split after the last `)`.
  const [state = '', , pgrp = ''] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state, pgrp: Number(pgrp) };
}

/** Running or stopped, not a zombie waiting to be reaped (a zombie holds no port and runs nothing). */
function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (stat !== undefined && stat.state !== 'Z' && stat.pgrp === pgid) pids.push(pid);
  }
  return pids;
}

/** Whether this machine has an IPv6 loopback address to listen on. */
function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

/** Whether 127.0.0.1:port can be listened on. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function post(
  port: number,
  path: string,
  body: string,
  host = '127.0.0.1',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host,
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Tries of a start whose freshly chosen ports were taken in the meantime by sockets of other tests. */
const START_ATTEMPTS = 3;

/**
 * Starts the demo on free ports and waits until it says it runs. The ports are found free, then given to the
 * demo: should another process take one in between, the demo refuses to start and is started again on other
 * ports (that race is not what these tests are about).
 */
async function runningDemo(
  via: 'node' | 'pnpm',
  extraArgs: string[] = [],
): Promise<{ demo: Demo; ports: DemoPorts }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await demoPorts();
    const demo = startDemo(via, [...portArgs(ports), ...extraArgs]);
    const outcome = await Promise.race([
      demo.waitForOutput(/^Roundguard is running\.$/m).then(
        () => 'running',
        () => 'ended',
      ),
      demo.closed.then(() => 'ended'),
    ]);
    if (outcome === 'running') return { demo, ports };
    if (attempt === START_ATTEMPTS || !/is already in use/.test(demo.stderr()))
      throw new Error(`the demo did not start; output:\n${demo.output()}`);
  }
}

/**
 * Checks that the proxy of a running demo (JSON logs) forwards, and returns every process of the demo: those
 * in its process group (the script, and pnpm) and the apps, which run in sessions of their own.
 */
async function demoProcesses(demo: Demo, ports: DemoPorts): Promise<number[]> {
  const apps = listeningPids(demo.stdout());
  expect(new Set(apps).size).toBe(ports.echoes.length + 1);
  const answer = await post(ports.proxy, '/hello', '{"hello":"world"}');
  expect(answer).toEqual({ status: 200, body: '{"hello":"world"}' });
  const pids = [...groupMembers(demo.pgid), ...apps];
  for (const pid of pids) started.find((s) => s.demo === demo)!.pids.add(pid);
  expect(pids.every(isAlive)).toBe(true);
  return pids;
}

/** After the demo has ended: none of its processes is left, and every one of its ports is free. */
async function expectAllGone(demo: Demo, pids: number[], ports: DemoPorts): Promise<void> {
  const left = [...new Set([...pids, ...groupMembers(demo.pgid)])].filter(isAlive);
  expect(left, `processes left running: ${left.join(', ')}`).toEqual([]);
  for (const port of [ports.proxy, ports.admin, ...ports.echoes]) expect(await canListen(port)).toBe(true);
}

describe.skipIf(process.platform !== 'linux')('pnpm start (scripts/start.mjs)', () => {
  it.each(['node', 'pnpm'] as const)(
    'SIGHUP to the process group (the terminal closing) stops every process and frees the ports (via %s)',
    async (via) => {
      const { demo, ports } = await runningDemo(via);
      const pids = await demoProcesses(demo, ports);
      process.kill(-demo.pgid, 'SIGHUP');
      const ended = await within(demo.closed, STOPPED_TIMEOUT_MS, 'the demo did not end');
      // pnpm itself dies of the SIGHUP; the script goes on stopping the apps and exits 0.
      if (via === 'node') expect(ended).toEqual({ code: 0, signal: null });
      await expectAllGone(demo, pids, ports);
      const stopped = records(demo.stdout()).filter((r) => r.msg === 'stopped');
      expect(stopped).toHaveLength(ports.echoes.length + 1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'the proxy answers on 127.0.0.1 and on [::1]; the listening record names both',
    async () => {
      const ipv6 = await hasIpv6Loopback();
      const { demo, ports } = await runningDemo('node');
      const pids = await demoProcesses(demo, ports);
      expect(await post(ports.proxy, '/v4', '{"via":4}', '127.0.0.1')).toEqual({
        status: 200,
        body: '{"via":4}',
      });
      if (ipv6) {
        expect(await post(ports.proxy, '/v6', '{"via":6}', '::1')).toEqual({
          status: 200,
          body: '{"via":6}',
        });
        const proxyListening = records(demo.stdout()).find(
          (r) => r.msg === 'listening' && r.name === 'roundguard',
        );
        expect(proxyListening?.addresses).toEqual([`127.0.0.1:${ports.proxy}`, `[::1]:${ports.proxy}`]);
        expect(demo.stdout()).toContain(`(127.0.0.1:${ports.proxy} and [::1]:${ports.proxy})`);
      } else {
        // Said in the test output: the IPv6 half of this test did not run.
        console.warn('no IPv6 loopback (::1) on this machine: skipped the request to [::1]');
        expect(demo.stderr()).toContain('no IPv6 loopback (::1) on this machine');
      }
      process.kill(-demo.pgid, 'SIGTERM');
      expect(await within(demo.closed, STOPPED_TIMEOUT_MS, 'the demo did not end')).toEqual({
        code: 0,
        signal: null,
      });
      await expectAllGone(demo, pids, ports);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Ctrl-C (SIGINT to the process group) on pnpm start stops everything, says so once and exits 0',
    async () => {
      const { demo, ports } = await runningDemo('pnpm');
      const pids = await demoProcesses(demo, ports);
      process.kill(-demo.pgid, 'SIGINT');
      const ended = await within(demo.closed, STOPPED_TIMEOUT_MS, 'pnpm start did not end');
      expect(ended, demo.output()).toEqual({ code: 0, signal: null });
      const lines = demo.output().split('\n');
      expect(lines.filter((l) => /^Roundguard stopped/.test(l))).toEqual(['Roundguard stopped.']);
      expect(demo.output()).not.toMatch(/ELIFECYCLE|Command failed|ERR_PNPM/);
      // Each app drained and stopped on its own (SIGTERM from the script), none was killed.
      expect(records(demo.stdout()).filter((r) => r.msg === 'stopped')).toHaveLength(ports.echoes.length + 1);
      await expectAllGone(demo, pids, ports);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'SIGTERM stops it the same way, with the pretty log format a terminal gets',
    async () => {
      const { demo, ports } = await runningDemo('node', ['--log-format', 'pretty']);
      expect(demo.stdout()).toMatch(/ INFO +roundguard listening /);
      expect(await post(ports.proxy, '/x', '[1]')).toEqual({ status: 200, body: '[1]' });
      process.kill(-demo.pgid, 'SIGTERM');
      const ended = await within(demo.closed, STOPPED_TIMEOUT_MS, 'the demo did not end');
      expect(ended).toEqual({ code: 0, signal: null });
      expect(
        demo
          .stdout()
          .split('\n')
          .filter((l) => /^Roundguard stopped/.test(l)),
      ).toHaveLength(1);
      for (const port of [ports.proxy, ports.admin, ...ports.echoes])
        expect(await canListen(port)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a second start on ports that are taken says which, starts nothing and exits 1; the first runs on',
    async () => {
      const { demo: first, ports } = await runningDemo('node');
      const pids = await demoProcesses(first, ports);

      const second = startDemo('node', portArgs(ports));
      const ended = await within(second.closed, STOPPED_TIMEOUT_MS, 'the second start did not end');
      expect(ended).toEqual({ code: 1, signal: null });
      expect(second.output()).not.toMatch(/Roundguard is running/);
      expect(listeningPids(second.stdout())).toEqual([]);
      expect(second.stderr()).toContain(`port ${ports.proxy} (proxy) is already in use on 127.0.0.1`);
      expect(second.stderr()).toContain(`port ${ports.admin} (proxy admin) is already in use on 127.0.0.1`);
      for (const port of ports.echoes)
        expect(second.stderr()).toContain(`port ${port} (echo-${port}) is already in use on 127.0.0.1`);
      expect(second.stderr()).toContain('nothing was started');

      expect(pids.every(isAlive)).toBe(true);
      expect(await post(ports.proxy, '/still', '{"up":true}')).toEqual({ status: 200, body: '{"up":true}' });
      process.kill(-first.pgid, 'SIGTERM');
      expect(await within(first.closed, STOPPED_TIMEOUT_MS, 'the demo did not end')).toEqual({
        code: 0,
        signal: null,
      });
      await expectAllGone(first, pids, ports);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is not fooled by another server on a backend port that answers /health: it refuses to start',
    async () => {
      const ports = await demoPorts();
      const squatter = createHttpServer((req, res) => {
        req.resume();
        res.end('{"status":"ok"}');
      });
      servers.push(squatter);
      await new Promise<void>((resolve) => squatter.listen(ports.echoes[1], '127.0.0.1', resolve));
      const demo = startDemo('node', portArgs(ports));
      const ended = await within(demo.closed, STOPPED_TIMEOUT_MS, 'the demo did not end');
      expect(ended).toEqual({ code: 1, signal: null });
      expect(demo.output()).not.toMatch(/Roundguard is running/);
      expect(demo.stderr()).toContain(
        `port ${ports.echoes[1]} (echo-${ports.echoes[1]}) is already in use on 127.0.0.1`,
      );
      expect(listeningPids(demo.stdout())).toEqual([]);
      for (const port of [ports.proxy, ports.admin, ports.echoes[0]!, ports.echoes[2]!])
        expect(await canListen(port)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it('refuses a bad option with exit 2 and one line naming it', async () => {
    const demo = startDemo('node', ['--echo-ports', '3001,x']);
    expect(await within(demo.closed, STOPPED_TIMEOUT_MS, 'start.mjs did not end')).toEqual({
      code: 2,
      signal: null,
    });
    expect(demo.stderr()).toBe('pnpm start: invalid --echo-ports "x": expected a port from 1 to 65535\n');
    expect(demo.stdout()).toBe('');
  });
});
