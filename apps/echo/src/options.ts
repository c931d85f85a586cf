import { isIP } from 'node:net';

/** Log formats the echo server accepts on its command line (`auto` is resolved before it gets here). */
export type EchoLogFormat = 'json' | 'pretty';
/** Log levels, lowest volume first. Same set as `@roundguard/logger`. */
export type EchoLogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Everything the echo server can be configured with, after parsing and validation. */
export interface EchoOptions {
  /**
   * TCP port to listen on; `0` lets the OS pick a free one (the chosen port is logged in the `listening` record).
   * @default 3000
   * @example `--port 0`, `ECHO_PORT=3001`
   */
  port: number;
  /**
   * Address to listen on.
   * @default '127.0.0.1'
   * @example `--host 0.0.0.0`, `--host ::1`
   */
  host: string;
  /**
   * Value of the `X-Echo-Name` response header. `undefined` means `echo-<bound port>`, decided after listening.
   * @default undefined (`echo-<port>`)
   * @example `--name backend-a`
   */
  name: string | undefined;
  /**
   * Largest accepted request body, in bytes. A bigger one is answered 413.
   * @default 1048576 (1 MiB)
   * @example `--max-body 65536`
   */
  maxBody: number;
  /**
   * `pretty` (colored one-line text) or `json` (one object per line).
   * @default 'pretty' when stdout is a TTY, 'json' otherwise
   * @example `--log-format json`
   */
  logFormat: EchoLogFormat;
  /**
   * Lowest level that is written.
   * @default 'info'
   * @example `--log-level debug`
   */
  logLevel: EchoLogLevel;
  /**
   * Time a client has to send a complete request (headers and body), in ms; then it gets 408 and the
   * connection is closed. `0` disables the limit.
   * @default 30000
   * @example `--request-timeout 5000`
   */
  requestTimeout: number;
  /**
   * On SIGTERM/SIGINT, how long in-flight requests may take before the remaining connections are destroyed, in ms.
   * @default 10000
   * @example `--shutdown-timeout 2000`
   */
  shutdownTimeout: number;
}

/** What {@link parseOptions} returns: either the options to start with, or a request for the usage text. */
export type ParsedCommandLine = { help: true } | { help: false; options: EchoOptions };

/** Thrown by {@link parseOptions} for any bad command line or environment value. Match on `err.code`. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'ERR_ECHO_INVALID_OPTION';
}

/** Largest `--max-body`: the whole body is held in memory, so keep it well under Node's Buffer limit. */
export const MAX_BODY_LIMIT = 1024 * 1024 * 1024;
/** Largest timer value Node's `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  maxBody: 1024 * 1024,
  logLevel: 'info',
  requestTimeout: 30_000,
  shutdownTimeout: 10_000,
} as const;

export const USAGE = `Usage: node dist/main.js [options]

POST-only JSON echo server: POST any path with a JSON body and get the same bytes back.

Options (flag > environment variable > default):
  --port N                listen port, 0 = any free port          ECHO_PORT        default 3000
  --host ADDR             listen address                          ECHO_HOST        default 127.0.0.1
  --name ID               X-Echo-Name response header             ECHO_NAME        default echo-<port>
  --max-body BYTES        largest request body (else 413)         ECHO_MAX_BODY    default 1048576
  --log-format json|pretty                                        ECHO_LOG_FORMAT  default pretty on a TTY, else json
  --log-level error|warn|info|debug                               ECHO_LOG_LEVEL   default info
  --request-timeout MS    time to send a whole request (else 408), 0 = no limit    default 30000
  --shutdown-timeout MS   on SIGTERM/SIGINT, wait this long for in-flight requests  default 10000
  -h, --help              print this text and exit

Endpoints: POST /<any path> (echo), GET|HEAD /health, /ready, /metrics.
`;

interface OptionSpec {
  key: keyof EchoOptions;
  env?: string;
  parse: (raw: string, label: string) => EchoOptions[keyof EchoOptions];
}

function fail(label: string, raw: string, expected: string): never {
  throw new OptionsError(`echo: invalid ${label} ${JSON.stringify(raw)}: expected ${expected}`);
}

function integer(min: number, max: number) {
  return (raw: string, label: string): number => {
    const value = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= min && value <= max)) fail(label, raw, `an integer from ${min} to ${max}`);
    return value;
  };
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function host(raw: string, label: string): string {
  if (isIP(raw) === 0 && !HOSTNAME.test(raw)) fail(label, raw, 'an IP address or a host name');
  return raw;
}

/** A header-safe name: visible ASCII, inner spaces allowed, at most 128 characters. */
const NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

function name(raw: string, label: string): string {
  if (!NAME.test(raw)) fail(label, raw, '1 to 128 printable ASCII characters, no leading or trailing space');
  return raw;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string, label: string): T => {
    if (!(values as readonly string[]).includes(raw)) fail(label, raw, `one of ${values.join(', ')}`);
    return raw as T;
  };
}

const SPECS: Readonly<Record<string, OptionSpec>> = {
  '--port': { key: 'port', env: 'ECHO_PORT', parse: integer(0, 65535) },
  '--host': { key: 'host', env: 'ECHO_HOST', parse: host },
  '--name': { key: 'name', env: 'ECHO_NAME', parse: name },
  '--max-body': { key: 'maxBody', env: 'ECHO_MAX_BODY', parse: integer(1, MAX_BODY_LIMIT) },
  '--log-format': { key: 'logFormat', env: 'ECHO_LOG_FORMAT', parse: oneOf(['json', 'pretty']) },
  '--log-level': { key: 'logLevel', env: 'ECHO_LOG_LEVEL', parse: oneOf(['error', 'warn', 'info', 'debug']) },
  '--request-timeout': { key: 'requestTimeout', parse: integer(0, MAX_TIMER_MS) },
  '--shutdown-timeout': { key: 'shutdownTimeout', parse: integer(0, MAX_TIMER_MS) },
};

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
  const fromFlags = new Map<keyof EchoOptions, EchoOptions[keyof EchoOptions]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = Object.hasOwn(SPECS, flag) ? SPECS[flag] : undefined;
    if (spec === undefined) {
      if (arg.startsWith('-'))
        throw new OptionsError(`echo: unknown option ${JSON.stringify(flag)} (see --help)`);
      throw new OptionsError(`echo: unexpected argument ${JSON.stringify(arg)} (see --help)`);
    }
    let raw: string;
    if (flag !== arg) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new OptionsError(`echo: missing value for ${flag}`);
      }
      raw = next;
      i++;
    }
    fromFlags.set(spec.key, spec.parse(raw, flag));
  }

  const resolved = new Map<keyof EchoOptions, EchoOptions[keyof EchoOptions]>();
  for (const spec of Object.values(SPECS)) {
    if (fromFlags.has(spec.key)) {
      resolved.set(spec.key, fromFlags.get(spec.key));
      continue;
    }
    const raw = spec.env === undefined ? undefined : env[spec.env];
    if (spec.env !== undefined && raw !== undefined && raw !== '')
      resolved.set(spec.key, spec.parse(raw, spec.env));
  }

  const options: EchoOptions = {
    port: (resolved.get('port') as number | undefined) ?? DEFAULTS.port,
    host: (resolved.get('host') as string | undefined) ?? DEFAULTS.host,
    name: resolved.get('name') as string | undefined,
    maxBody: (resolved.get('maxBody') as number | undefined) ?? DEFAULTS.maxBody,
    logFormat: (resolved.get('logFormat') as EchoLogFormat | undefined) ?? (stdoutIsTTY ? 'pretty' : 'json'),
    logLevel: (resolved.get('logLevel') as EchoLogLevel | undefined) ?? DEFAULTS.logLevel,
    requestTimeout: (resolved.get('requestTimeout') as number | undefined) ?? DEFAULTS.requestTimeout,
    shutdownTimeout: (resolved.get('shutdownTimeout') as number | undefined) ?? DEFAULTS.shutdownTimeout,
  };
  return { help: false, options };
}
