import { isIP } from 'node:net';
import type { Pool } from 'undici';
import { invalidOption } from './errors.js';
import type { UpstreamSpec } from './upstream-spec.js';

/** The largest delay `setTimeout` honours (about 24.8 days). */
export const MAX_DELAY = 2_147_483_647;

/** Options of the active health checks (`healthCheck`). */
export interface HealthCheckOptions {
  /**
   * Path (and query) requested with `GET` on each upstream; only a `200` counts as healthy. Requests to a
   * discovered upstream carry the discovery name as `Host`, as traffic does.
   *
   * @default '/health'
   * @example
   * path: '/healthz'
   */
  readonly path?: string;
  /**
   * Time between the starts of two probes of one upstream, in milliseconds. Probes of one upstream never
   * overlap; the first probe of each is delayed by a random time below this, to spread them.
   *
   * @default 2000
   * @example
   * intervalMs: 5000
   */
  readonly intervalMs?: number;
  /**
   * A probe with no `200` answer by then fails, in milliseconds.
   *
   * @default 1000
   * @example
   * timeoutMs: 500
   */
  readonly timeoutMs?: number;
  /**
   * Good probes in a row that bring a down upstream back.
   *
   * @default 1
   * @example
   * rise: 2
   */
  readonly rise?: number;
  /**
   * Failed probes in a row that take an upstream down.
   *
   * @default 1
   * @example
   * fall: 3
   */
  readonly fall?: number;
}

/** Options of outlier detection (`outlierDetection`). */
export interface OutlierDetectionOptions {
  /**
   * Failed exchanges in a row with one upstream (a connect error, a reset, a timeout, or a 5xx answer)
   * that eject it. A successful exchange resets the count.
   *
   * @default 5
   * @example
   * consecutiveFailures: 3
   */
  readonly consecutiveFailures?: number;
  /**
   * Ejection time, in milliseconds, multiplied by the number of times the upstream was ejected (see
   * `maxEjectionMs`). Also how long a connect failure keeps an upstream out when `healthCheck` is
   * `false`.
   *
   * @default 30000
   * @example
   * baseEjectionMs: 10_000
   */
  readonly baseEjectionMs?: number;
  /**
   * The longest ejection, in milliseconds. The ejection count also goes back down by one for each
   * `maxEjectionMs` the upstream spends back in rotation, so an upstream that recovered for good is
   * ejected for `baseEjectionMs` again the next time.
   *
   * @default 10 x baseEjectionMs (300000)
   * @example
   * maxEjectionMs: 120_000
   */
  readonly maxEjectionMs?: number;
  /**
   * At most this share of the upstreams (from 0 to 100) is ejected by outlier detection at once; one
   * upstream may always be, whatever the share.
   *
   * @default 50
   * @example
   * maxEjectionPercent: 34
   */
  readonly maxEjectionPercent?: number;
}

/** Options of retries (`retry`). */
export interface RetryOptions {
  /**
   * Extra tries, each on another upstream, for a request that provably reached none (its connection
   * failed before any byte of it was written).
   *
   * @default 1
   * @example
   * attempts: 2
   */
  readonly attempts?: number;
}

/** Options of {@link BalancedDispatcher}. */
export interface BalancedDispatcherOptions {
  /**
   * The upstreams, in rotation order: URLs or `{ url, weight, name }` objects (see {@link UpstreamSpec}),
   * including `dns+http://NAME:PORT` and `dnssrv+http://_SERVICE._tcp.NAME` discovery URLs. May be empty
   * (add upstreams later with `setUpstreams`). The upstreams given here are in rotation at once, as are
   * those found by each discovery URL's first lookup; any added later joins after its first good probe.
   *
   * @example
   * upstreams: ['http://127.0.0.1:3001', { url: 'http://127.0.0.1:3002', weight: 2 }]
   */
  readonly upstreams: Iterable<UpstreamSpec>;
  /**
   * Active health checks, or `false` for none (then only connect failures and outlier detection take
   * upstreams out).
   *
   * @default { path: '/health', intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1 }
   * @example
   * healthCheck: { path: '/ready', intervalMs: 1000, rise: 2, fall: 2 }
   */
  readonly healthCheck?: HealthCheckOptions | false;
  /**
   * Outlier detection (passive: it watches the traffic), or `false` for none.
   *
   * @default { consecutiveFailures: 5, baseEjectionMs: 30000, maxEjectionMs: 300000, maxEjectionPercent: 50 }
   * @example
   * outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 10_000 }
   */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /**
   * Retries of requests that provably reached no upstream, or `false`: every request is sent once.
   *
   * @default false
   * @example
   * retry: { attempts: 1 }
   */
  readonly retry?: RetryOptions | false;
  /**
   * undici `Pool` options for each upstream's pool (connections, timeouts, keep-alive, TLS, ...).
   *
   * @default {} (undici's defaults)
   * @example
   * pool: { connections: 128, headersTimeout: 30_000, connect: { timeout: 2000 } }
   */
  readonly pool?: Pool.Options;
  /**
   * Time between two lookups of each discovery URL, in milliseconds.
   *
   * @default 5000
   * @example
   * dnsRefreshMs: 2000
   */
  readonly dnsRefreshMs?: number;
  /**
   * DNS servers for discovery (`'ADDRESS'` or `'ADDRESS:PORT'`, IPv6 as `'[ADDRESS]:PORT'`), instead of
   * the system's.
   *
   * @default the system's servers
   * @example
   * dnsServers: ['127.0.0.1:5353']
   */
  readonly dnsServers?: readonly string[];
  /**
   * Time allowed for one DNS query of discovery, in milliseconds (each query is tried twice per server).
   *
   * @default 2000
   * @example
   * dnsTimeoutMs: 500
   */
  readonly dnsTimeoutMs?: number;
}

export interface HealthSettings {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
}

export interface OutlierSettings {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

/** The validated options, every default applied. */
export interface Settings {
  readonly upstreams: unknown;
  readonly health: HealthSettings | null;
  readonly outlier: OutlierSettings | null;
  /** How long a connect failure keeps an upstream out when there are no health checks. */
  readonly passiveEjectionMs: number;
  /** Extra tries (0: none). */
  readonly retryAttempts: number;
  readonly pool: Pool.Options;
  readonly dnsRefreshMs: number;
  readonly dnsServers: readonly string[] | null;
  readonly dnsTimeoutMs: number;
}

const TOP_KEYS = [
  'upstreams',
  'healthCheck',
  'outlierDetection',
  'retry',
  'pool',
  'dnsRefreshMs',
  'dnsServers',
  'dnsTimeoutMs',
];
const HEALTH_KEYS = ['path', 'intervalMs', 'timeoutMs', 'rise', 'fall'];
const OUTLIER_KEYS = ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent'];
const RETRY_KEYS = ['attempts'];

/**
 * Validates the constructor's options.
 *
 * @throws {DispatcherError} `ERR_DISPATCHER_INVALID_OPTION`, naming the option and the value received.
 */
export function parseOptions(options: unknown): Settings {
  const o = plainObject(options, 'options', TOP_KEYS);
  if (!('upstreams' in o) || o.upstreams === undefined) {
    invalidOption('upstreams', 'an array of upstreams (it may be empty)', o.upstreams);
  }

  let health: HealthSettings | null = null;
  if (o.healthCheck !== false) {
    const h = o.healthCheck === undefined ? {} : plainObject(o.healthCheck, 'healthCheck', HEALTH_KEYS);
    const path = h.path ?? '/health';
    if (typeof path !== 'string' || !path.startsWith('/') || /[\s\p{Cc}]/u.test(path)) {
      invalidOption('healthCheck.path', 'a path starting with `/`, without spaces', path);
    }
    health = {
      path,
      intervalMs: delay('healthCheck.intervalMs', h.intervalMs ?? 2000),
      timeoutMs: delay('healthCheck.timeoutMs', h.timeoutMs ?? 1000),
      rise: count('healthCheck.rise', h.rise ?? 1),
      fall: count('healthCheck.fall', h.fall ?? 1),
    };
  }

  let outlier: OutlierSettings | null = null;
  let passiveEjectionMs = 30_000;
  if (o.outlierDetection !== false) {
    const d =
      o.outlierDetection === undefined
        ? {}
        : plainObject(o.outlierDetection, 'outlierDetection', OUTLIER_KEYS);
    const baseEjectionMs = delay('outlierDetection.baseEjectionMs', d.baseEjectionMs ?? 30_000);
    const maxEjectionMs = delay(
      'outlierDetection.maxEjectionMs',
      d.maxEjectionMs ?? Math.min(MAX_DELAY, baseEjectionMs * 10),
    );
    if (maxEjectionMs < baseEjectionMs) {
      invalidOption(
        'outlierDetection.maxEjectionMs',
        `at least \`baseEjectionMs\` (${baseEjectionMs})`,
        maxEjectionMs,
      );
    }
    const maxEjectionPercent = d.maxEjectionPercent ?? 50;
    if (
      typeof maxEjectionPercent !== 'number' ||
      !Number.isFinite(maxEjectionPercent) ||
      maxEjectionPercent < 0 ||
      maxEjectionPercent > 100
    ) {
      invalidOption('outlierDetection.maxEjectionPercent', 'a number from 0 to 100', maxEjectionPercent);
    }
    outlier = {
      consecutiveFailures: count('outlierDetection.consecutiveFailures', d.consecutiveFailures ?? 5),
      baseEjectionMs,
      maxEjectionMs,
      maxEjectionPercent,
    };
    passiveEjectionMs = baseEjectionMs;
  }

  let retryAttempts = 0;
  if (o.retry !== undefined && o.retry !== false) {
    const r = plainObject(o.retry, 'retry', RETRY_KEYS);
    const attempts = r.attempts ?? 1;
    if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0 || attempts > 100) {
      invalidOption('retry.attempts', 'an integer from 0 to 100', attempts);
    }
    retryAttempts = attempts;
  }

  const pool = o.pool ?? {};
  if (pool === null || typeof pool !== 'object' || Array.isArray(pool)) {
    invalidOption('pool', 'an object of undici Pool options', pool);
  }

  const dnsRefreshMs = delay('dnsRefreshMs', o.dnsRefreshMs ?? 5000);
  const dnsTimeoutMs = delay('dnsTimeoutMs', o.dnsTimeoutMs ?? 2000);
  let dnsServers: string[] | null = null;
  if (o.dnsServers !== undefined) {
    if (!Array.isArray(o.dnsServers) || o.dnsServers.length === 0) {
      invalidOption('dnsServers', 'a non-empty array of `ADDRESS` or `ADDRESS:PORT` strings', o.dnsServers);
    }
    dnsServers = (o.dnsServers as unknown[]).map((server, i) => {
      if (typeof server !== 'string' || !isServer(server)) {
        invalidOption(
          `dnsServers[${i}]`,
          'an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`)',
          server,
        );
      }
      return server;
    });
  }

  return {
    upstreams: o.upstreams,
    health,
    outlier,
    passiveEjectionMs,
    retryAttempts,
    pool: pool,
    dnsRefreshMs,
    dnsServers,
    dnsTimeoutMs,
  };
}

function plainObject(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalidOption(name, name === 'options' ? 'an object' : 'an object or `false`', value);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      invalidOption(
        `${name === 'options' ? '' : `${name}.`}${key}`,
        `one of ${keys.map((k) => `\`${k}\``).join(', ')} (a known option)`,
        key,
      );
    }
  }
  return value as Record<string, unknown>;
}

function delay(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_DELAY) {
    invalidOption(name, `a number of milliseconds from 1 to ${MAX_DELAY}`, value);
  }
  return value;
}

function count(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    invalidOption(name, 'an integer from 1 and up', value);
  }
  return value;
}

function isServer(server: string): boolean {
  let address = server;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (bracketed !== null) {
    address = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(address) !== 6) return false;
  } else if (isIP(server) === 0) {
    const i = server.lastIndexOf(':');
    if (i < 0) return false;
    address = server.slice(0, i);
    port = server.slice(i + 1);
    if (isIP(address) !== 4) return false;
  }
  if (port === undefined) return true;
  if (!/^\d{1,5}$/.test(port)) return false;
  const n = Number(port);
  return n >= 1 && n <= 65535;
}
