// Child processes whose stdout is JSON log lines (the Roundguard apps with `--log-format json`): spawn one,
// read its records as they come, wait for one, stop it by its PID, or run one to its exit. Every child
// started here is remembered, and stopAllProcesses() kills whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process';

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
  /** The raw stdout text so far (empty when the lines are selected, see {@link SpawnOptions}). */
  stdout(): string;
  /** Number of stdout lines so far. */
  lines(): number;
  stderr(): string;
  /** Resolves with the first record, already read or to come, that matches; rejects on timeout or exit. */
  waitForRecord(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Settles when the process has exited and its output has been read. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (SIGKILL by default) to its PID unless it has exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

export interface RunResult extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();

/**
 * The environment of this process without what configures a Roundguard app from outside (every
 * ROUNDGUARD_* and ECHO_* variable, NO_COLOR, FORCE_COLOR), plus `extra`.
 */
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

export interface SpawnOptions {
  /**
   * Only the stdout lines it accepts are parsed and kept (and the stdout text is not kept): for a process
   * that logs every request under load, when a few records matter. Default: every line.
   */
  readonly select?: (line: string) => boolean;
}

/** Starts `node script ...args` with stdout read as JSON lines (stderr kept as text). */
export function spawnLogged(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: SpawnOptions = {},
): LoggedProcess {
  const select = options.select;
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const records: LogRecord[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let lineCount = 0;
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
    if (select === undefined) stdout += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      lineCount++;
      if (select !== undefined && !select(line)) continue;
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
    lines: () => lineCount,
    stderr: () => stderr,
    waitForRecord,
    exited,
    stop,
  };
}

/** Runs `node script ...args` until it exits (for bad options and --help); rejects after `timeoutMs`. */
export function runToExit(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 10_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${script} ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`,
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

/** Kills (SIGKILL, by PID) every child started here that is still running, and waits for them to exit. */
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
