// The built echo server as a child process with JSON logs, on @roundguard/testkit's process plumbing.
import { fileURLToPath } from 'node:url';
import {
  cleanEnv,
  runToExit,
  spawnLogged,
  type ExitStatus,
  type LogRecord,
  type RunResult,
} from '@roundguard/testkit';
import type { ChildProcess } from 'node:child_process';

export { type LogRecord } from '@roundguard/testkit';

/** The built echo server, as `pnpm --filter echo test` builds it before running the tests. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface EchoProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every JSON record written to stdout so far. */
  readonly logs: LogRecord[];
  stderr(): string;
  /** Resolves with the first record (already written or to come) that matches. */
  waitForLog(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
}

/**
 * Starts `node dist/main.js --port 0 --log-format json ...args` and resolves once its `listening` record
 * (which carries the port) has been read from stdout.
 */
export async function startEcho(args: string[] = [], env: Record<string, string> = {}): Promise<EchoProcess> {
  const proc = spawnLogged(MAIN, ['--port', '0', '--log-format', 'json', ...args], cleanEnv(env));
  const listening = await proc.waitForRecord((r) => r.msg === 'listening');
  return {
    child: proc.child,
    port: listening.port as number,
    logs: proc.records,
    stderr: () => proc.stderr(),
    waitForLog: (match, timeoutMs) => proc.waitForRecord(match, timeoutMs),
    exited: proc.exited,
  };
}

/** Kills every echo process still running (for afterEach/afterAll) and waits for them to exit. */
export { stopAllProcesses as stopAllEchoes } from '@roundguard/testkit';

/** Runs echo to completion with the given arguments (no defaults added): for option errors and --help. */
export function runEcho(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<RunResult> {
  return runToExit(MAIN, args, cleanEnv(env), timeoutMs);
}
