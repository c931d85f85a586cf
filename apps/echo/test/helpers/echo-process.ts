import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built echo server, as `pnpm --filter echo test` builds it before running the tests. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

export interface EchoProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every JSON record written to stdout so far. */
  readonly logs: LogRecord[];
  stderr(): string;
  /** Resolves with the first record (already written or to come) that matches. */
  waitForLog(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Environment without any ECHO_* variable of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ECHO_')) env[key] = value;
  return { ...env, ...extra };
}

/**
 * Starts `node dist/main.js --port 0 --log-format json ...args` and resolves once its `listening` record
 * (which carries the port) has been read from stdout.
 */
export async function startEcho(args: string[] = [], env: Record<string, string> = {}): Promise<EchoProcess> {
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--log-format', 'json', ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: LogRecord[] = [];
  let stderr = '';
  let partial = '';
  const waiters = new Set<() => void>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        logs.push({ msg: '(not json)', line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });

  let exitedFlag = false;
  void exited.then(() => (exitedFlag = true));
  const waitForLog = (match: (record: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = logs.find(match);
        if (found) {
          finish();
          resolve(found);
          return true;
        }
        if (exitedFlag) {
          finish();
          reject(
            new Error(
              `echo exited before the expected log record; stderr: ${stderr}; logs: ${JSON.stringify(logs)}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`timed out waiting for a log record; logs: ${JSON.stringify(logs)}; stderr: ${stderr}`),
        );
      }, timeoutMs);
      const wake = (): void => void check();
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      if (!check()) waiters.add(wake);
    });

  const listening = await waitForLog((r) => r.msg === 'listening');
  return { child, port: listening.port as number, logs, stderr: () => stderr, waitForLog, exited };
}

/** Kills every echo process still running (for afterEach/afterAll) and waits for them to exit. */
export async function stopAllEchoes(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Runs echo to completion with the given arguments (no defaults added): for option errors and --help. */
export function runEcho(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
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
      reject(new Error(`echo ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
