// Every option of the echo server, one row each: the order is the --help and README order. The command
// line, the environment, --help and the README's options table all come from these rows.
import { isIP } from 'node:net';
import { integer, oneOf, option, text } from '@roundguard/cli-options';

/** Log formats the echo server accepts on its command line (`auto` is resolved before it gets here). */
export type EchoLogFormat = 'json' | 'pretty';
/** Log levels, lowest volume first. Same set as `@roundguard/logger`. */
export type EchoLogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Largest `--max-body`: the whole body is held in memory, so keep it well under Node's Buffer limit. */
export const MAX_BODY_LIMIT = 1024 * 1024 * 1024;
/** Largest timer value Node's `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A header-safe name: visible ASCII, inner spaces allowed, at most 128 characters. */
const NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

export const ECHO_OPTIONS = [
  option({
    key: 'port',
    flag: '--port',
    placeholder: 'N',
    env: 'ECHO_PORT',
    default: 3000,
    parse: integer(0, 65535),
    help: 'listen port, 0 = any free port',
    doc: 'listen port, 0 to 65535 (0 = any free port, logged)',
  }),
  option({
    key: 'host',
    flag: '--host',
    placeholder: 'ADDR',
    env: 'ECHO_HOST',
    default: '127.0.0.1',
    parse: text('an IP address or a host name', (s) => isIP(s) !== 0 || HOSTNAME.test(s)),
    help: 'listen address',
    doc: 'listen address: an IP address or a host name',
  }),
  option({
    key: 'name',
    flag: '--name',
    placeholder: 'ID',
    env: 'ECHO_NAME',
    default: undefined,
    defaultText: '`echo-<port>`',
    parse: text('1 to 128 printable ASCII characters, no leading or trailing space', (s) => NAME.test(s)),
    help: 'X-Echo-Name response header',
    doc: '`X-Echo-Name` response header and the `name` of every log record (default: `echo-` and the bound port); printable ASCII, at most 128 characters',
  }),
  option({
    key: 'maxBody',
    flag: '--max-body',
    placeholder: 'BYTES',
    env: 'ECHO_MAX_BODY',
    default: 1024 * 1024,
    parse: integer(1, MAX_BODY_LIMIT),
    help: 'largest request body, else 413',
    doc: `largest accepted body, 1 to ${MAX_BODY_LIMIT}; larger is 413`,
  }),
  option({
    key: 'logFormat',
    flag: '--log-format',
    placeholder: 'json|pretty',
    env: 'ECHO_LOG_FORMAT',
    default: undefined,
    defaultText: '`pretty` on a TTY, `json` otherwise',
    parse: oneOf<EchoLogFormat>(['json', 'pretty']),
    help: 'log format',
    doc: '`json` (one object per line) or `pretty` (colored text; honors `NO_COLOR`, `FORCE_COLOR`)',
  }),
  option({
    key: 'logLevel',
    flag: '--log-level',
    placeholder: 'LEVEL',
    env: 'ECHO_LOG_LEVEL',
    default: 'info',
    parse: oneOf<EchoLogLevel>(['error', 'warn', 'info', 'debug']),
    help: 'lowest level logged: error, warn, info, debug',
    doc: '`error`, `warn`, `info` (access log), `debug` (also client resets)',
  }),
  option({
    key: 'requestTimeout',
    flag: '--request-timeout',
    placeholder: 'MS',
    default: 30_000,
    parse: integer(0, MAX_TIMER_MS),
    help: 'time to send a whole request, else 408; 0 = no limit',
    doc: 'time a client has to send a whole request, headers and body; then 408 and close. 0 = no limit',
  }),
  option({
    key: 'shutdownTimeout',
    flag: '--shutdown-timeout',
    placeholder: 'MS',
    default: 10_000,
    parse: integer(0, MAX_TIMER_MS),
    help: 'on SIGTERM/SIGINT, wait this long for in-flight requests',
    doc: 'on SIGTERM/SIGINT, time in-flight requests get before the remaining connections are destroyed',
  }),
] as const;
