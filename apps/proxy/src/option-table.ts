// Every option of the proxy, one row each: the order is the --help and README order. The command line,
// the environment, the config file, --help and the README's options table all come from these rows.
import { availableParallelism } from 'node:os';
import { integer, listOption, oneOf, option, text, type Parse } from '@roundguard/cli-options';
import { duplicateUpstream, parseDnsServer, parseUpstream } from './upstream-option.js';

export type LogFormatOption = 'json' | 'pretty' | 'auto';
export type LogLevelOption = 'error' | 'warn' | 'info' | 'debug';

/** Largest timer value Node's `setTimeout` honours. */
const MAX_MS = 2 ** 31 - 1;

const port = integer(0, 65535);
const ms = integer(1, MAX_MS, `a number of milliseconds from 1 to ${MAX_MS}`);
const count = integer(1, 1_000_000, 'an integer from 1 to 1000000');
const address = text('a host name or IP address', (s) => s !== '' && !/[\s\0]/.test(s));

/** Most worker processes. */
const MAX_WORKERS = 64;
const workerNumber = integer(1, MAX_WORKERS, `an integer from 1 to ${MAX_WORKERS}, or auto`);

/** `--workers`: a number, or `auto` for one per CPU this process may use. */
const workerCount: Parse<number> = (value, origin) =>
  value === 'auto' ? Math.min(MAX_WORKERS, availableParallelism()) : workerNumber(value, origin);

function duplicateHost(hosts: readonly string[]): { index: number; problem: string } | undefined {
  const index = hosts.findIndex((host, i) => hosts.indexOf(host) !== i);
  return index === -1 ? undefined : { index, problem: `address ${JSON.stringify(hosts[index])} given twice` };
}

export const PROXY_OPTIONS = [
  option({
    key: 'configFile',
    flag: '--config',
    placeholder: 'FILE',
    env: 'ROUNDGUARD_CONFIG',
    inFile: false,
    default: undefined,
    parse: text('a file path', (s) => s !== ''),
    help: 'JSON config file: the options below in camelCase (adminPort), upstreams as a list',
    doc: 'JSON config file: the options below by their config key, and `upstreams` as a list of `{ "url": ..., "weight": n }` (or plain URL strings)',
  }),
  option({
    key: 'port',
    flag: '--port',
    placeholder: 'N',
    env: 'ROUNDGUARD_PORT',
    default: 8080,
    parse: port,
    help: 'listen port, 0 = any free port',
    doc: 'listen port (0 = any free port; the chosen one is in the `listening` log record)',
  }),
  listOption({
    key: 'host',
    flag: '--host',
    placeholder: 'ADDR',
    env: 'ROUNDGUARD_HOST',
    default: ['0.0.0.0'],
    parse: address,
    check: duplicateHost,
    help: 'listen address',
    doc: 'listen address; repeatable (`--host 127.0.0.1 --host ::1`; the variable is comma-separated, the config key a string or a list): the proxy listens on each, on the same port',
  }),
  listOption({
    key: 'upstreams',
    flag: '--upstream',
    placeholder: 'URL',
    env: 'ROUNDGUARD_UPSTREAMS',
    default: [],
    parse: parseUpstream,
    check: duplicateUpstream,
    help: 'upstream base URL http://host:port, or dns+http://NAME:PORT, dnssrv+http://_SERVICE._tcp.NAME',
    doc: 'upstream base URL `http://host:port` (or `https://`); no path, query or credentials; duplicates are refused. `dns+http://NAME:PORT`: one upstream per A/AAAA address of NAME; `dnssrv+http://_SERVICE._tcp.NAME`: one per SRV record (see below)',
  }),
  option({
    key: 'adminPort',
    flag: '--admin-port',
    placeholder: 'N',
    env: 'ROUNDGUARD_ADMIN_PORT',
    default: 9090,
    parse: port,
    help: 'admin server port',
  }),
  option({
    key: 'adminHost',
    flag: '--admin-host',
    placeholder: 'ADDR',
    env: 'ROUNDGUARD_ADMIN_HOST',
    default: '127.0.0.1',
    parse: address,
    help: 'admin server address',
    doc: 'admin server address (loopback by default: metrics are not public)',
  }),
  option({
    key: 'adminToken',
    flag: '--admin-token',
    placeholder: 'TOKEN',
    env: 'ROUNDGUARD_ADMIN_TOKEN',
    default: undefined,
    defaultText: 'none: read-only',
    secret: true,
    parse: text('a token of 16 to 512 visible ASCII characters', (s) => /^[\x21-\x7e]{16,512}$/.test(s)),
    help: 'enables the admin write API; clients send it as Authorization: Bearer TOKEN',
    doc: 'enables the admin write API (`POST`, `PATCH`, `DELETE` on `/upstreams`, the dashboard buttons); clients send it as `Authorization: Bearer TOKEN`. 16 to 512 visible ASCII characters; never logged. Prefer the variable: a flag shows in `ps`',
  }),
  option({
    key: 'healthPath',
    flag: '--health-path',
    placeholder: 'PATH',
    default: '/health',
    parse: text('a path starting with /', (s) => /^\/[\u0021-\u007e]*$/.test(s)),
    help: 'liveness path probed on each upstream with GET',
  }),
  option({
    key: 'healthInterval',
    flag: '--health-interval',
    placeholder: 'MS',
    default: 2000,
    parse: ms,
    help: 'time between probes of one upstream',
  }),
  option({
    key: 'healthTimeout',
    flag: '--health-timeout',
    placeholder: 'MS',
    default: 1000,
    parse: ms,
    help: 'a probe with no 200 answer by then counts as failed',
  }),
  option({
    key: 'healthRise',
    flag: '--health-rise',
    placeholder: 'N',
    default: 1,
    parse: count,
    help: 'good probes in a row that bring a down upstream back',
  }),
  option({
    key: 'healthFall',
    flag: '--health-fall',
    placeholder: 'N',
    default: 1,
    parse: count,
    help: 'failed probes in a row that take an upstream down',
  }),
  option({
    key: 'ejectAfter',
    flag: '--eject-after',
    placeholder: 'N',
    default: 5,
    parse: integer(0, 1_000_000),
    help: 'outlier detection: failed exchanges in a row that eject an upstream, 0 = off',
    doc: 'outlier detection: failed exchanges in a row with one upstream (connect error, reset, timeout, 5xx answer) that eject it (0 = off)',
  }),
  option({
    key: 'ejectTime',
    flag: '--eject-time',
    placeholder: 'MS',
    default: 30000,
    parse: ms,
    help: 'first ejection time; x the ejection count, at most 10 x',
    doc: 'first ejection time (x the ejection count, at most 10 x); without health checks also how long a connect failure keeps an upstream out',
  }),
  option({
    key: 'ejectMaxPercent',
    flag: '--eject-max-percent',
    placeholder: 'P',
    default: 50,
    parse: integer(0, 100),
    help: 'at most this share of upstreams ejected by outlier detection at once',
    doc: 'at most this share (0 to 100) of upstreams ejected by outlier detection at once (one may always be)',
  }),
  option({
    key: 'retries',
    flag: '--retries',
    placeholder: 'N',
    default: 0,
    parse: integer(0, 100),
    help: 'extra tries on another upstream for requests that provably reached none',
    doc: 'extra tries, each on another upstream, for a request that provably reached none (its connection failed before any byte of it was sent); 0 = every request is sent once',
  }),
  option({
    key: 'dnsRefresh',
    flag: '--dns-refresh',
    placeholder: 'MS',
    default: 5000,
    parse: ms,
    help: 're-resolution interval for dns+ / dnssrv+ upstreams',
  }),
  listOption({
    key: 'dnsServers',
    flag: '--dns-server',
    placeholder: 'HOST:PORT',
    default: [],
    defaultText: "the system's",
    parse: parseDnsServer,
    help: "DNS server for discovery (repeatable); default: the system's",
    doc: 'DNS server for discovery, an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`); repeatable',
  }),
  option({
    key: 'connectTimeout',
    flag: '--connect-timeout',
    placeholder: 'MS',
    default: 2000,
    parse: ms,
    help: 'upstream connect timeout, then 502',
    doc: 'upstream connect timeout (then 502, and the upstream leaves rotation)',
  }),
  option({
    key: 'headersTimeout',
    flag: '--headers-timeout',
    placeholder: 'MS',
    default: 30000,
    parse: ms,
    help: 'time for the upstream to send response headers, then 504',
    doc: 'time for the upstream to send response headers (then 504)',
  }),
  option({
    key: 'bodyTimeout',
    flag: '--body-timeout',
    placeholder: 'MS',
    default: 30000,
    parse: ms,
    help: 'idle time allowed between upstream body chunks, then the response is cut',
    doc: 'idle time allowed between upstream body chunks (then the response is cut)',
  }),
  option({
    key: 'clientTimeout',
    flag: '--client-timeout',
    placeholder: 'MS',
    default: 30000,
    parse: ms,
    help: 'time for client request headers, and idle time between body chunks, then 408',
    doc: 'time for a client to send its request headers, and idle time allowed between its body chunks (then 408, connection closed; a connection that sent nothing at all is closed without an answer)',
  }),
  option({
    key: 'drainTimeout',
    flag: '--drain-timeout',
    placeholder: 'MS',
    default: 10000,
    parse: ms,
    help: 'on SIGTERM/SIGINT, how long in-flight requests may take',
    doc: 'on SIGTERM/SIGINT, how long in-flight requests may take before remaining connections are closed',
  }),
  option({
    key: 'shutdownDelay',
    flag: '--shutdown-delay',
    placeholder: 'MS',
    default: 0,
    parse: integer(0, MAX_MS, `a number of milliseconds from 0 to ${MAX_MS}`),
    help: 'on SIGTERM: /readyz answers 503 at once, traffic is served for MS, then the drain',
    doc: 'on SIGTERM/SIGINT: `/readyz` answers 503 at once, traffic is still served (new connections, keep-alive) for MS, then the drain starts; lets a load balancer take the instance out first. A second signal ends the delay at once',
  }),
  option({
    key: 'tunnelIdleTimeout',
    flag: '--tunnel-idle-timeout',
    placeholder: 'MS',
    default: 0,
    parse: integer(0, MAX_MS, `a number of milliseconds from 0 (none) to ${MAX_MS}`),
    help: 'close a WebSocket tunnel with no bytes either way for this long, 0 = never',
    doc: 'close a WebSocket tunnel that carried no byte either way for this long (0 = never)',
  }),
  option({
    key: 'logFormat',
    flag: '--log-format',
    placeholder: 'json|pretty',
    env: 'ROUNDGUARD_LOG_FORMAT',
    default: 'auto',
    defaultText: '`pretty` on a TTY, `json` otherwise',
    parse: oneOf<LogFormatOption>(['json', 'pretty', 'auto'], 'json or pretty'),
    help: 'log format',
    doc: '`json` (one object per line) or `pretty` (colored text; honors `NO_COLOR`, `FORCE_COLOR`)',
  }),
  option({
    key: 'logLevel',
    flag: '--log-level',
    placeholder: 'LEVEL',
    env: 'ROUNDGUARD_LOG_LEVEL',
    default: 'info',
    parse: oneOf<LogLevelOption>(['error', 'warn', 'info', 'debug']),
    help: 'lowest level logged: error, warn, info, debug',
    doc: 'lowest level logged: `error`, `warn`, `info` (access log), `debug`',
  }),
  option({
    key: 'workers',
    flag: '--workers',
    placeholder: 'N|auto',
    env: 'ROUNDGUARD_WORKERS',
    default: 1,
    parse: workerCount,
    help: 'worker processes (node:cluster), 1 = no cluster, auto = one per CPU',
    doc: 'worker processes (node:cluster), from 1 (no cluster) to 64, or `auto`: `os.availableParallelism()` (at most 64); see below',
  }),
] as const;
