// Child processes for the end-to-end tests: the built proxy (apps/proxy/dist/main.js) and the built echo
// backend (apps/echo/dist/main.js), both with JSON logs on stdout that the tests parse. The process
// plumbing is @roundguard/testkit's: every child started here is remembered, and `stopAllProcesses()`
// (afterEach/afterAll) kills whatever is still running.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  cleanEnv,
  runToExit,
  spawnLogged,
  type LoggedProcess,
  type LogRecord,
  type RunResult,
} from '@roundguard/testkit';
import { closedPort } from './backends.js';
import { waitForHealth } from './http.js';

export {
  cleanEnv,
  stopAllProcesses,
  type ExitStatus,
  type LoggedProcess,
  type LogRecord,
  type RunResult,
} from '@roundguard/testkit';

/** The built proxy and echo backend (`pnpm --filter proxy test` builds both before running vitest). */
export const PROXY_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Proxy flags that push the first liveness probe past any test: the upstreams stay in rotation as configured. */
export const NO_PROBES: readonly string[] = ['--health-interval', '2000000000'];
export const ECHO_MAIN = fileURLToPath(new URL('../../../echo/dist/main.js', import.meta.url));

export interface EchoProcess extends LoggedProcess {
  readonly port: number;
  readonly url: string;
  readonly name: string;
}

export interface EchoOptions {
  /** `--name` (the `X-Echo-Name` header); default `echo-<port>`. */
  readonly name?: string;
  /** Listen port; default 0 (any free port). Give the old port to restart a backend "in place". */
  readonly port?: number;
  readonly args?: readonly string[];
}

/** Starts the echo backend on 127.0.0.1 with JSON logs and resolves once it listens. */
export async function startEcho(options: EchoOptions = {}): Promise<EchoProcess> {
  const args = ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--log-format', 'json'];
  if (options.name !== undefined) args.push('--name', options.name);
  args.push(...(options.args ?? []));
  const proc = spawnLogged(ECHO_MAIN, args, cleanEnv());
  const listening = await proc.waitForRecord((r) => r.msg === 'listening');
  const port = listening.port as number;
  return { ...proc, port, url: `http://127.0.0.1:${port}`, name: options.name ?? `echo-${port}` };
}

export interface ProxyProcess extends LoggedProcess {
  readonly port: number;
  readonly adminPort: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<admin port>` */
  readonly adminUrl: string;
  /** The `listening` record. */
  readonly listening: LogRecord;
  /** The `request completed` access-log records so far. */
  accessLog(): LogRecord[];
}

export interface ProxyOptions {
  /** Extra environment variables (every ROUNDGUARD_* variable of the test run is removed first). */
  readonly env?: Record<string, string>;
  /**
   * Prepend `--host 127.0.0.1 --port 0 --admin-port 0 --log-format json` (default true). Turn off to
   * test option resolution; the process must still log JSON for the `listening` record to be read.
   */
  readonly defaults?: boolean;
}

/** Spawns the proxy with exactly these arguments, without waiting for anything. */
export function spawnProxy(args: readonly string[], env: Record<string, string> = {}): LoggedProcess {
  return spawnLogged(PROXY_MAIN, args, cleanEnv(env));
}

/**
 * Starts the proxy (`node dist/main.js ...args`) and resolves once its `listening` record (which carries
 * the ports) has been read.
 */
export async function startProxy(args: readonly string[], options: ProxyOptions = {}): Promise<ProxyProcess> {
  const defaults =
    options.defaults === false
      ? []
      : ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--log-format', 'json'];
  const proc = spawnLogged(PROXY_MAIN, [...defaults, ...args], cleanEnv(options.env));
  const listening = await proc.waitForRecord((r) => r.msg === 'listening');
  const port = listening.port as number;
  const adminPort = listening.admin_port as number;
  return {
    ...proc,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    listening,
    accessLog: () => proc.records.filter((r) => r.msg === 'request completed'),
  };
}

/** Runs the proxy with exactly these arguments until it exits (for bad options and --help). */
export function runProxy(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<RunResult> {
  return runToExit(PROXY_MAIN, args, cleanEnv(env), timeoutMs);
}

/**
 * A proxy whose only upstream is a closed port, returned once a probe has taken that upstream out of
 * rotation: it answers every request with its own 503.
 */
export async function startProxyWithNoUpstreamUp(): Promise<ProxyProcess> {
  const upstream = `http://127.0.0.1:${await closedPort()}`;
  const proxy = await startProxy([
    '--upstream',
    upstream,
    '--health-interval',
    '200',
    '--health-timeout',
    '150',
  ]);
  await waitForHealth(proxy.adminUrl, upstream, false);
  return proxy;
}

/** The child processes of `pid` (Linux: /proc/PID/task/PID/children). */
export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** The command line of process `pid`, one argument per entry (Linux: /proc/PID/cmdline). */
export function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
}
