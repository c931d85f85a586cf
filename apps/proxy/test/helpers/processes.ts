// Child processes for the end-to-end tests: the built proxy (apps/proxy/dist/main.js) and the built echo
// backend (apps/echo/dist/main.js), both with JSON logs on stdout that the tests parse. Every child started
// here is remembered, and `stopAllProcesses()` (afterEach/afterAll) kills whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closedPort } from './backends.js';
import { waitForHealth } from './http.js';

/** The built proxy and echo backend (`pnpm --filter proxy test` builds both before running vitest). */
export const PROXY_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Proxy flags that push the first liveness probe past any test: the upstreams stay in rotation as configured. */
export const NO_PROBES: readonly string[] = ['--health-interval', '2000000000'];
export const ECHO_MAIN = fileURLToPath(new URL('../../../echo/dist/main.js', import.meta.url));

/** One JSON log line. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process whose stdout is read as JSON lines. */
export interface LoggedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line parsed so far (a line that is not JSON becomes `{ msg: '(not json)', line }`). */
  readonly records: LogRecord[];
  /** The raw stdout text so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first record, already read or to come, that matches; rejects on timeout or exit. */
  waitForRecord(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (SIGKILL by default) unless the process has exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

const running = new Set<ChildProcess>();

/** The environment of the test run without any ROUNDGUARD_* / ECHO_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !key.startsWith('ROUNDGUARD_') &&
      !key.startsWith('ECHO_') &&
      key !== 'NO_COLOR' &&
      key !== 'FORCE_COLOR'
    )
      env[key] = value;
  }
  return { ...env, ...extra };
}

function spawnLogged(script: string, args: readonly string[], env: NodeJS.ProcessEnv): LoggedProcess {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const records: LogRecord[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let hasExited = false;
  let exitStatus = '';
  const waiters = new Set<() => void>();
  const wakeAll = (): void => {
    for (const wake of [...waiters]) wake();
  };
  const exited = new Promise<ExitStatus>((resolve) => {
    // 'close' comes after 'exit' and after stdout/stderr ended: every log line has been read by then.
    child.once('close', (code, signal) => {
      hasExited = true;
      exitStatus = `code ${code}, signal ${signal}`;
      running.delete(child);
      resolve({ code, signal });
      wakeAll();
    });
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        records.push({ msg: '(not json)', line });
      }
    }
    wakeAll();
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });

  const waitForRecord = (match: (record: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> =>
    new Promise((resolve, reject) => {
      const describe = (): string =>
        `records: ${JSON.stringify(records.slice(-20))}; stderr: ${stderr.slice(-2000)}`;
      const check = (): boolean => {
        const found = records.find(match);
        if (found !== undefined) {
          finish();
          resolve(found);
          return true;
        }
        if (hasExited) {
          finish();
          reject(
            new Error(
              `process ${child.pid} exited (${exitStatus}) before the expected log record; ${describe()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log record; ${describe()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      if (!check()) waiters.add(wake);
    });

  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> => {
    if (!hasExited && child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };

  return {
    child,
    pid: child.pid as number,
    records,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForRecord,
    exited,
    stop,
  };
}

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

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the proxy with exactly these arguments until it exits (for bad options and --help). */
export function runProxy(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROXY_MAIN, ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `proxy ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Kills (SIGKILL) every child still running and waits for them to exit. For afterEach/afterAll. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            running.delete(child);
            return resolve();
          }
          child.once('exit', () => {
            running.delete(child);
            resolve();
          });
          child.kill('SIGKILL');
        }),
    ),
  );
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
