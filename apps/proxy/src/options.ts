// The proxy's configuration: resolved from the command line, the environment and the config file
// (flag > env > config file > default) by the rows of option-table.ts.
import packageJson from '../package.json' with { type: 'json' };
import { readConfigFile, rereadUpstreams } from './config-file.js';
import {
  InvalidValue,
  OptionProblem,
  readCommandLine,
  renderHelp,
  renderMarkdownTable,
  resolveOption,
  resolveOptions,
} from '@roundguard/cli-options';
import { PROXY_OPTIONS, type LogFormatOption, type LogLevelOption } from './option-table.js';
import { normalizeUpstreamUrl, type UpstreamConfig } from './upstream-option.js';

export { PROXY_OPTIONS, type LogFormatOption, type LogLevelOption, type UpstreamConfig };

/** The proxy's resolved configuration. Each option's default, flag and variable are in {@link PROXY_OPTIONS}. */
export interface ProxyConfig {
  /** The JSON config file (`--config`, `ROUNDGUARD_CONFIG`), if one was given. */
  readonly configFile: string | undefined;
  /** Port the proxy listens on (`--port`); 0 lets the OS pick a free one. */
  readonly port: number;
  /** Addresses the proxy listens on, all on `port` (`--host`, repeatable); never empty. */
  readonly host: readonly string[];
  /** Where requests are forwarded, in round-robin order (`--upstream`, or `upstreams` in the file); never empty. */
  readonly upstreams: readonly UpstreamConfig[];
  /** Where `upstreams` came from: only a config file's upstreams are re-read on SIGHUP. */
  readonly upstreamsSource: 'flag' | 'env' | 'file';
  /** Port of the admin server: metrics, health, upstream status (`--admin-port`). */
  readonly adminPort: number;
  /** Address of the admin server (`--admin-host`); loopback by default. */
  readonly adminHost: string;
  /** Bearer token of the admin write API (`--admin-token`); undefined: the admin API is read-only. Never logged. */
  readonly adminToken: string | undefined;
  /** Path probed with GET on each upstream; a 200 answer is healthy (`--health-path`). */
  readonly healthPath: string;
  /** Milliseconds between two probes of one upstream (`--health-interval`). */
  readonly healthInterval: number;
  /** Milliseconds a probe may take before it counts as failed (`--health-timeout`). */
  readonly healthTimeout: number;
  /** Good probes in a row that bring a down upstream back (`--health-rise`). */
  readonly healthRise: number;
  /** Failed probes in a row that take an upstream down (`--health-fall`). */
  readonly healthFall: number;
  /** Failed exchanges in a row that eject an upstream; 0 turns outlier detection off (`--eject-after`). */
  readonly ejectAfter: number;
  /** First ejection time in milliseconds, multiplied by the ejection count up to 10 x (`--eject-time`). */
  readonly ejectTime: number;
  /** Largest share (0-100) of the upstreams ejected by outlier detection at once (`--eject-max-percent`). */
  readonly ejectMaxPercent: number;
  /** Extra tries on another upstream for requests that provably reached none (`--retries`). */
  readonly retries: number;
  /** Milliseconds between two lookups of each `dns+` / `dnssrv+` upstream (`--dns-refresh`). */
  readonly dnsRefresh: number;
  /** DNS servers for discovery; empty: the system's (`--dns-server`). */
  readonly dnsServers: readonly string[];
  /** Milliseconds to connect to an upstream, then 502 and the upstream leaves rotation (`--connect-timeout`). */
  readonly connectTimeout: number;
  /** Milliseconds for an upstream to send its response headers, then 504 (`--headers-timeout`). */
  readonly headersTimeout: number;
  /** Idle milliseconds allowed between upstream body chunks, then the response is cut (`--body-timeout`). */
  readonly bodyTimeout: number;
  /** Milliseconds for a client's request headers, and idle between its body chunks, then 408 (`--client-timeout`). */
  readonly clientTimeout: number;
  /** On SIGTERM/SIGINT, milliseconds in-flight requests may take before connections are closed (`--drain-timeout`). */
  readonly drainTimeout: number;
  /** On SIGTERM/SIGINT, milliseconds `/readyz` answers 503 while traffic is still served, before the drain (`--shutdown-delay`). */
  readonly shutdownDelay: number;
  /** Milliseconds a WebSocket tunnel may carry no byte either way before it is closed; 0 = never (`--tunnel-idle-timeout`). */
  readonly tunnelIdleTimeout: number;
  /** `json`, `pretty`, or `auto` (pretty on a TTY, json otherwise) (`--log-format`). */
  readonly logFormat: LogFormatOption;
  /** Lowest level written to the log (`--log-level`). */
  readonly logLevel: LogLevelOption;
  /** Processes that forward requests; above 1 a node:cluster primary supervises them (`--workers`; `auto` is resolved to a number). */
  readonly workers: number;
}

/** A bad option: main prints `roundguard: <message>` and exits with status 2. Match on `err.code`. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'ERR_PROXY_INVALID_OPTION';
}

/** `--help` or `--version` was asked for: main prints the message (usage or version) and exits 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

/** The proxy's version, from its package.json (inlined at build time). */
export const VERSION: string = packageJson.version;

/** The `--help` text. */
export function usage(): string {
  return renderHelp(PROXY_OPTIONS, {
    usage: 'Usage: roundguard [options]',
    precedence: 'flag > env > config file > default',
  });
}

function asOptionsError(err: unknown): unknown {
  return err instanceof OptionProblem ? new OptionsError(err.message, { cause: err }) : err;
}

const CONFIG_OPTION = PROXY_OPTIONS.find((row) => row.key === 'configFile')!;

function resolve(argv: readonly string[], env: NodeJS.ProcessEnv): ProxyConfig {
  const commandLine = readCommandLine(PROXY_OPTIONS, argv);
  if (commandLine.action === 'help') throw new HelpRequested(usage());
  if (commandLine.action === 'version') throw new HelpRequested(VERSION);
  const configFile = resolveOption(CONFIG_OPTION, commandLine, env).value as string | undefined;
  const file = configFile === undefined ? undefined : readConfigFile(configFile);
  const { values, sources } = resolveOptions(PROXY_OPTIONS, commandLine, env, file);
  if (values.upstreams.length === 0) {
    throw new OptionProblem(
      'no upstream configured: give --upstream URL, ROUNDGUARD_UPSTREAMS or "upstreams" in --config',
    );
  }
  const upstreamsSource = sources.upstreams === 'default' ? 'file' : sources.upstreams;
  return { ...values, upstreamsSource };
}

/**
 * Resolves the configuration from command-line arguments, the environment and the config file.
 * @throws {OptionsError} on any bad value (the message names it); {@link HelpRequested} for `--help`
 *   and `--version`, whose message is the text to print.
 */
export function resolveConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ProxyConfig {
  try {
    return resolve(argv, env);
  } catch (err) {
    throw asOptionsError(err);
  }
}

/**
 * Re-reads only the upstreams of a config file (for SIGHUP).
 * @throws {OptionsError} when the file or its upstreams are bad, or it lists none
 */
export function reloadUpstreams(configFile: string): UpstreamConfig[] {
  try {
    return rereadUpstreams(configFile);
  } catch (err) {
    throw asOptionsError(err);
  }
}

/**
 * Validates an upstream base URL and normalizes it to `scheme://host:port`.
 * @param source where it came from, for the message (`--upstream`)
 * @throws {OptionsError} naming the source, the value and what is wrong with it
 */
export function parseUpstreamUrl(value: unknown, source: string): string {
  try {
    return normalizeUpstreamUrl(value);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new OptionsError(`invalid ${source} ${JSON.stringify(value)}: ${err.message}`);
  }
}

/** The README's options table, rendered from {@link PROXY_OPTIONS}. */
export function optionsReadmeTable(): string {
  return renderMarkdownTable(PROXY_OPTIONS, { configKeys: true });
}
