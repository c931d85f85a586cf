import { readFileSync } from 'node:fs';

/** A configured upstream: its base URL (normalized to `scheme://host:port`) and weight. */
export interface UpstreamConfig {
  readonly url: string;
  readonly weight: number;
}

export type LogFormatOption = 'json' | 'pretty' | 'auto';
export type LogLevelOption = 'error' | 'warn' | 'info' | 'debug';

/** The proxy's resolved configuration (flag > env > config file > default). */
export interface ProxyConfig {
  readonly configFile: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly upstreams: readonly UpstreamConfig[];
  /** Where `upstreams` came from: only a config file's upstreams are re-read on SIGHUP. */
  readonly upstreamsSource: 'flag' | 'env' | 'file';
  readonly adminPort: number;
  readonly adminHost: string;
  readonly healthPath: string;
  readonly healthInterval: number;
  readonly healthTimeout: number;
  readonly connectTimeout: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly clientTimeout: number;
  readonly drainTimeout: number;
  readonly logFormat: LogFormatOption;
  readonly logLevel: LogLevelOption;
  readonly workers: number;
}

/** A bad option: main prints `roundguard: <message>` and exits with status 2. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'ERR_PROXY_INVALID_OPTION';
}

/** `--help` was asked for: main prints the usage and exits 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

type Kind = 'port' | 'ms' | 'string' | 'path' | 'upstream' | 'format' | 'level' | 'workers' | 'file';

interface OptionSpec {
  /** camelCase key, as in the config file. */
  readonly key:
    Exclude<keyof ProxyConfig, 'upstreamsSource' | 'upstreams' | 'configFile'> | 'upstreams' | 'configFile';
  readonly flag: string;
  readonly env?: string;
  readonly kind: Kind;
  readonly help: string;
}

const MAX_MS = 2_147_483_647;

/** Every option: its flag, environment variable, config key and kind. The order is the `--help` order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'configFile',
    flag: '--config',
    env: 'ROUNDGUARD_CONFIG',
    kind: 'file',
    help: 'JSON config file (keys as below, camelCase)',
  },
  {
    key: 'port',
    flag: '--port',
    env: 'ROUNDGUARD_PORT',
    kind: 'port',
    help: 'listen port, 0 = any free port (default 8080)',
  },
  {
    key: 'host',
    flag: '--host',
    env: 'ROUNDGUARD_HOST',
    kind: 'string',
    help: 'listen address (default 0.0.0.0)',
  },
  {
    key: 'upstreams',
    flag: '--upstream',
    env: 'ROUNDGUARD_UPSTREAMS',
    kind: 'upstream',
    help: 'upstream base URL http://host:port (repeatable; env: comma-separated)',
  },
  {
    key: 'adminPort',
    flag: '--admin-port',
    env: 'ROUNDGUARD_ADMIN_PORT',
    kind: 'port',
    help: 'admin server port (default 9090)',
  },
  {
    key: 'adminHost',
    flag: '--admin-host',
    env: 'ROUNDGUARD_ADMIN_HOST',
    kind: 'string',
    help: 'admin server address (default 127.0.0.1)',
  },
  {
    key: 'healthPath',
    flag: '--health-path',
    kind: 'path',
    help: 'liveness path probed with GET (default /health)',
  },
  {
    key: 'healthInterval',
    flag: '--health-interval',
    kind: 'ms',
    help: 'ms between probes of one upstream (default 2000)',
  },
  { key: 'healthTimeout', flag: '--health-timeout', kind: 'ms', help: 'ms a probe may take (default 1000)' },
  {
    key: 'connectTimeout',
    flag: '--connect-timeout',
    kind: 'ms',
    help: 'upstream connect timeout in ms, then 502 (default 2000)',
  },
  {
    key: 'headersTimeout',
    flag: '--headers-timeout',
    kind: 'ms',
    help: 'ms for upstream response headers, then 504 (default 30000)',
  },
  {
    key: 'bodyTimeout',
    flag: '--body-timeout',
    kind: 'ms',
    help: 'idle ms between upstream body chunks, then the response is cut (default 30000)',
  },
  {
    key: 'clientTimeout',
    flag: '--client-timeout',
    kind: 'ms',
    help: 'ms for client request headers / idle between body chunks, then 408 (default 30000)',
  },
  {
    key: 'drainTimeout',
    flag: '--drain-timeout',
    kind: 'ms',
    help: 'ms in-flight requests may take on SIGTERM/SIGINT (default 10000)',
  },
  {
    key: 'logFormat',
    flag: '--log-format',
    env: 'ROUNDGUARD_LOG_FORMAT',
    kind: 'format',
    help: 'json | pretty (default: pretty on a TTY, json otherwise)',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'ROUNDGUARD_LOG_LEVEL',
    kind: 'level',
    help: 'error | warn | info | debug (default info)',
  },
  {
    key: 'workers',
    flag: '--workers',
    env: 'ROUNDGUARD_WORKERS',
    kind: 'workers',
    help: 'worker processes (node:cluster), 1 = no cluster (default 1)',
  },
];

const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  adminPort: 9090,
  adminHost: '127.0.0.1',
  healthPath: '/health',
  healthInterval: 2000,
  healthTimeout: 1000,
  connectTimeout: 2000,
  headersTimeout: 30000,
  bodyTimeout: 30000,
  clientTimeout: 30000,
  drainTimeout: 10000,
  logFormat: 'auto',
  logLevel: 'info',
  workers: 1,
} as const satisfies Partial<Record<keyof ProxyConfig, unknown>>;

export function usage(): string {
  const lines = ['Usage: roundguard [options]', '', 'Options (flag > env > config file > default):'];
  for (const o of OPTIONS) {
    const name = `${o.flag} ${o.kind === 'upstream' ? 'URL' : o.kind === 'file' ? 'FILE' : 'VALUE'}`;
    lines.push(`  ${name.padEnd(26)} ${o.help}${o.env ? ` [${o.env}]` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(26)} print this help`);
  return lines.join('\n');
}

/** Where a raw value came from, for error messages: `--port`, `ROUNDGUARD_PORT`, `port in cfg.json`. */
type Source = string;

function fail(source: Source, value: unknown, expected: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  throw new OptionsError(`invalid ${source} ${shown}: expected ${expected}`);
}

function parseInteger(value: unknown, source: Source, min: number, max: number, expected: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) {
    const n = Number(value);
    if (n >= min && n <= max) return n;
  }
  return fail(source, value, expected);
}

/** Validates and normalizes an upstream base URL to `scheme://host:port`. */
export function parseUpstreamUrl(value: unknown, source: Source): string {
  if (typeof value !== 'string' || value.trim() === '')
    return fail(source, value, 'an http:// or https:// base URL');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return fail(source, value, 'an http:// or https:// base URL such as http://127.0.0.1:3001');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return fail(source, value, 'a URL whose scheme is http or https');
  if (url.username || url.password) return fail(source, value, 'a URL without credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return fail(source, value, 'a base URL without path, query or fragment (http://host:port)');
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${url.hostname}:${port}`;
}

function parseWeight(value: unknown, source: Source): number {
  return parseInteger(value, source, 0, 1_000_000, 'an integer weight from 0 to 1000000');
}

function parseValue(spec: OptionSpec, value: unknown, source: Source): unknown {
  switch (spec.kind) {
    case 'port':
      return parseInteger(value, source, 0, 65535, 'an integer from 0 to 65535');
    case 'ms':
      return parseInteger(value, source, 1, MAX_MS, `a number of milliseconds from 1 to ${MAX_MS}`);
    case 'workers':
      return parseInteger(value, source, 1, 64, 'an integer from 1 to 64');
    case 'string':
      if (typeof value !== 'string' || value === '' || /[\s\0]/.test(value))
        return fail(source, value, 'a host name or IP address');
      return value;
    case 'file':
      if (typeof value !== 'string' || value === '') return fail(source, value, 'a file path');
      return value;
    case 'path':
      if (typeof value !== 'string' || !/^\/[\u0021-\u007e]*$/.test(value))
        return fail(source, value, 'a path starting with /');
      return value;
    case 'format':
      if (value !== 'json' && value !== 'pretty' && value !== 'auto')
        return fail(source, value, 'json or pretty');
      return value;
    case 'level':
      if (value !== 'error' && value !== 'warn' && value !== 'info' && value !== 'debug') {
        return fail(source, value, 'one of error, warn, info, debug');
      }
      return value;
    case 'upstream':
      throw new Error('upstreams are parsed by parseUpstreams');
  }
}

function parseUpstreams(raw: readonly unknown[], source: Source): UpstreamConfig[] {
  const seen = new Set<string>();
  const out: UpstreamConfig[] = [];
  raw.forEach((entry, i) => {
    const where = raw.length > 1 || source.endsWith(']') ? `${source}[${i}]` : source;
    let url: string;
    let weight = 1;
    if (typeof entry === 'string') {
      url = parseUpstreamUrl(entry, where);
    } else if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
      const { url: u, weight: w, ...rest } = entry as Record<string, unknown>;
      const unknown = Object.keys(rest);
      if (unknown.length > 0)
        throw new OptionsError(
          `unknown key ${JSON.stringify(unknown[0])} in ${where}: expected url and weight`,
        );
      url = parseUpstreamUrl(u, `${where}.url`);
      if (w !== undefined) weight = parseWeight(w, `${where}.weight`);
    } else {
      return fail(where, entry, 'an upstream URL or { "url": ..., "weight": n }');
    }
    if (seen.has(url)) throw new OptionsError(`duplicate upstream ${JSON.stringify(url)} in ${source}`);
    seen.add(url);
    out.push({ url, weight });
  });
  return out;
}

/** Reads and validates a JSON config file into raw option values keyed like {@link ProxyConfig}. */
export function readConfigFile(file: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OptionsError(
      `cannot read config file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new OptionsError(
      `config file ${JSON.stringify(file)} is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new OptionsError(`config file ${JSON.stringify(file)} must hold a JSON object`);
  }
  const values = new Map<string, unknown>();
  for (const [key, value] of Object.entries(data)) {
    const spec = OPTIONS.find((o) => o.key === key && o.key !== 'configFile');
    if (spec === undefined)
      throw new OptionsError(`unknown key ${JSON.stringify(key)} in config file ${JSON.stringify(file)}`);
    values.set(key, value);
  }
  return values;
}

/**
 * Resolves the configuration from command-line arguments, the environment and the config file.
 * @throws {OptionsError} on any bad value (the message names it); {@link HelpRequested} for `--help`.
 */
export function resolveConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ProxyConfig {
  const flags = new Map<string, unknown>();
  const flagUpstreams: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') throw new HelpRequested(usage());
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS.find((o) => o.flag === name);
    if (spec === undefined) throw new OptionsError(`unknown option ${JSON.stringify(arg)} (see --help)`);
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new OptionsError(`missing value for ${name}`);
      value = next;
      i++;
    }
    if (spec.kind === 'upstream') flagUpstreams.push(value);
    else flags.set(spec.key, parseValue(spec, value, name));
  }

  const configFile = (flags.get('configFile') as string | undefined) ?? (env.ROUNDGUARD_CONFIG || undefined);
  const file = configFile === undefined ? new Map<string, unknown>() : readConfigFile(configFile);
  const fileLabel = (key: string) => `${key} in ${configFile ?? ''}`;

  const resolved: Record<string, unknown> = { ...DEFAULTS, configFile };
  for (const spec of OPTIONS) {
    if (spec.kind === 'upstream' || spec.key === 'configFile') continue;
    if (flags.has(spec.key)) resolved[spec.key] = flags.get(spec.key);
    else if (spec.env !== undefined && env[spec.env] !== undefined && env[spec.env] !== '') {
      resolved[spec.key] = parseValue(spec, env[spec.env], spec.env);
    } else if (file.has(spec.key))
      resolved[spec.key] = parseValue(spec, file.get(spec.key), fileLabel(spec.key));
  }

  let upstreams: UpstreamConfig[];
  let upstreamsSource: ProxyConfig['upstreamsSource'];
  const envUpstreams = env.ROUNDGUARD_UPSTREAMS;
  if (flagUpstreams.length > 0) {
    upstreams = parseUpstreams(flagUpstreams, '--upstream');
    upstreamsSource = 'flag';
  } else if (envUpstreams !== undefined && envUpstreams.trim() !== '') {
    upstreams = parseUpstreams(
      envUpstreams.split(',').map((s) => s.trim()),
      'ROUNDGUARD_UPSTREAMS',
    );
    upstreamsSource = 'env';
  } else {
    upstreams = upstreamsFromFile(file, configFile);
    upstreamsSource = 'file';
  }
  if (upstreams.length === 0) {
    throw new OptionsError(
      'no upstream configured: give --upstream URL, ROUNDGUARD_UPSTREAMS or "upstreams" in --config',
    );
  }
  return { ...(resolved as unknown as ProxyConfig), upstreams, upstreamsSource };
}

/** The `upstreams` of a config file (empty when the file has none). */
export function upstreamsFromFile(
  file: Map<string, unknown>,
  configFile: string | undefined,
): UpstreamConfig[] {
  if (!file.has('upstreams')) return [];
  const raw = file.get('upstreams');
  const source = `upstreams in ${configFile ?? ''}`;
  if (!Array.isArray(raw)) return fail(source, raw, 'a list of { "url": ..., "weight": n }');
  return parseUpstreams(raw, source);
}

/** Re-reads only the upstreams of a config file (for SIGHUP). */
export function reloadUpstreams(configFile: string): UpstreamConfig[] {
  const upstreams = upstreamsFromFile(readConfigFile(configFile), configFile);
  if (upstreams.length === 0)
    throw new OptionsError(`no upstream in config file ${JSON.stringify(configFile)}`);
  return upstreams;
}
