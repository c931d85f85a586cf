// The echo server's options: resolved from the command line and the environment (flag > environment >
// default) by the rows of option-table.ts.
import packageJson from '../package.json' with { type: 'json' };
import {
  defaultsOf,
  OptionProblem,
  readCommandLine,
  renderHelp,
  renderMarkdownTable,
  resolveOptions,
} from '@roundguard/cli-options';
import { ECHO_OPTIONS, MAX_BODY_LIMIT, type EchoLogFormat, type EchoLogLevel } from './option-table.js';

export { ECHO_OPTIONS, MAX_BODY_LIMIT, type EchoLogFormat, type EchoLogLevel };

/** Everything the echo server can be configured with, after parsing and validation. Defaults: {@link ECHO_OPTIONS}. */
export interface EchoOptions {
  /**
   * TCP port to listen on; `0` lets the OS pick a free one (the chosen port is logged in the `listening` record).
   * @example `--port 0`, `ECHO_PORT=3001`
   */
  port: number;
  /**
   * Address to listen on.
   * @example `--host 0.0.0.0`, `--host ::1`
   */
  host: string;
  /**
   * Value of the `X-Echo-Name` response header. `undefined` means `echo-<bound port>`, decided after listening.
   * @example `--name backend-a`
   */
  name: string | undefined;
  /**
   * Largest accepted request body, in bytes. A bigger one is answered 413.
   * @example `--max-body 65536`
   */
  maxBody: number;
  /**
   * `pretty` (colored one-line text) or `json` (one object per line); when not given, pretty when stdout
   * is a TTY and json otherwise.
   * @example `--log-format json`
   */
  logFormat: EchoLogFormat;
  /**
   * Lowest level that is written.
   * @example `--log-level debug`
   */
  logLevel: EchoLogLevel;
  /**
   * Time a client has to send a complete request (headers and body), in ms; then it gets 408 and the
   * connection is closed. `0` disables the limit.
   * @example `--request-timeout 5000`
   */
  requestTimeout: number;
  /**
   * On SIGTERM/SIGINT, how long in-flight requests may take before the remaining connections are destroyed, in ms.
   * @example `--shutdown-timeout 2000`
   */
  shutdownTimeout: number;
}

/**
 * What {@link parseOptions} returns: the options to start with, or (`help: true`) a text to print before
 * exiting 0: the usage, or the version when `version` is set (`--version`).
 */
export type ParsedCommandLine = { help: true; version?: string } | { help: false; options: EchoOptions };

/** Thrown by {@link parseOptions} for any bad command line or environment value. Match on `err.code`. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'ERR_ECHO_INVALID_OPTION';
}

/** The default of each option, by its key. */
export const DEFAULTS = defaultsOf(ECHO_OPTIONS);

/** The echo server's version, from its package.json (inlined at build time). */
export const VERSION: string = packageJson.version;

/** The `--help` text. */
export const USAGE = `${renderHelp(ECHO_OPTIONS, {
  usage: 'Usage: node apps/echo/dist/main.js [options]',
  intro: 'POST-only JSON echo server: POST any path with a JSON body and get the same bytes back.',
  precedence: 'flag > environment variable > default',
  footer: 'Endpoints: POST /<any path> (echo), GET|HEAD /health, /ready, /metrics.',
})}\n`;

/**
 * Parses the command line and environment into validated options. Precedence: flag > environment > default.
 * Flags take their value as `--port 3000` or `--port=3000`; a repeated flag keeps the last value.
 *
 * @param argv the arguments after the script name (`process.argv.slice(2)`)
 * @param env the environment (`process.env`); empty variables count as unset
 * @param stdoutIsTTY whether stdout is a terminal, for the default log format
 * @throws {OptionsError} with a one-line message naming the bad value, e.g.
 *   `echo: invalid --port "abc": expected an integer from 0 to 65535`
 * @example parseOptions(['--port', '0', '--log-format=json'], process.env, false)
 */
export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stdoutIsTTY: boolean,
): ParsedCommandLine {
  try {
    const commandLine = readCommandLine(ECHO_OPTIONS, argv);
    if (commandLine.action === 'help') return { help: true };
    if (commandLine.action === 'version') return { help: true, version: VERSION };
    const { values } = resolveOptions(ECHO_OPTIONS, commandLine, env);
    return {
      help: false,
      options: { ...values, logFormat: values.logFormat ?? (stdoutIsTTY ? 'pretty' : 'json') },
    };
  } catch (err) {
    if (err instanceof OptionProblem) throw new OptionsError(`echo: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The README's options table, rendered from {@link ECHO_OPTIONS}. */
export function optionsReadmeTable(): string {
  return renderMarkdownTable(ECHO_OPTIONS, { configKeys: false });
}
