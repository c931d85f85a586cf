// The upstreams: one BalancedDispatcher per process (pick, health checks, passive ejection, outlier
// detection, retries and DNS discovery all live there), built from the proxy's options, with each
// upstream's metrics handle and in-flight count kept in its `data` slot, so that a request needs no
// lookup to account itself.
import {
  BalancedDispatcher,
  type BalancedDispatcherOptions,
  type Upstream,
  type UpstreamStatus,
} from '@roundguard/dispatcher';
import type { Logger } from '@roundguard/logger';
import type { ProxyMetrics, UpstreamMetrics } from '@roundguard/metrics';
import type { TrafficHistory, UpstreamRecorder } from './dashboard/traffic-history.js';
import type { ProxyConfig } from './options.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamConfig } from './upstream-option.js';

/** What the proxy keeps on each upstream (the dispatcher's `data` slot). */
export interface UpstreamData {
  /** Its metrics, labelled with its URL. */
  readonly metrics: UpstreamMetrics;
  /** Its traffic history for the dashboard, by name. */
  readonly traffic: UpstreamRecorder;
  /** Requests of this process being forwarded to it right now. */
  inFlight: number;
  /** When its state last changed (ms since the epoch). */
  since: number;
}

export type ProxyUpstream = Upstream<UpstreamData>;
export type ProxyDispatcher = BalancedDispatcher<UpstreamData>;

/**
 * Idle upstream connections are closed after this long: below the 5 s keep-alive timeout of Node.js
 * servers (and of the echo backend), so the proxy closes an idle socket before the backend does and
 * never sends a request on a socket the backend is closing.
 */
export const UPSTREAM_KEEPALIVE_TIMEOUT_MS = 4000;

/** The longest ejection, as a multiple of `--eject-time`. */
const MAX_EJECTION_FACTOR = 10;
const MAX_DELAY = 2 ** 31 - 1;

/**
 * What a dispatcher of one role does: `all` (one process: forwards, probes, discovers), `probes` (the
 * cluster primary: probes and discovers, forwards nothing), `forward` (a cluster worker: forwards, with
 * outlier detection and retries; its set and health come from the primary).
 */
export type DispatcherRole = 'all' | 'probes' | 'forward';

/** The dispatcher's options for the proxy's configuration. */
export function dispatcherOptions(
  config: ProxyConfig,
  role: DispatcherRole,
  upstreams: readonly { url: string; weight: number; name?: string }[] = config.upstreams,
): BalancedDispatcherOptions {
  const forwards = role !== 'probes';
  return {
    upstreams: upstreams.map(({ url, weight, name }) =>
      url.startsWith('dnssrv+') ? { url } : name === undefined ? { url, weight } : { url, weight, name },
    ),
    healthCheck:
      role === 'forward'
        ? false
        : {
            path: config.healthPath,
            intervalMs: config.healthInterval,
            timeoutMs: config.healthTimeout,
            rise: config.healthRise,
            fall: config.healthFall,
          },
    outlierDetection:
      !forwards || config.ejectAfter === 0
        ? false
        : {
            consecutiveFailures: config.ejectAfter,
            baseEjectionMs: config.ejectTime,
            maxEjectionMs: Math.min(MAX_DELAY, config.ejectTime * MAX_EJECTION_FACTOR),
            maxEjectionPercent: config.ejectMaxPercent,
          },
    retry: forwards && config.retries > 0 ? { attempts: config.retries } : false,
    pool: {
      connect: { timeout: config.connectTimeout },
      headersTimeout: config.headersTimeout,
      bodyTimeout: config.bodyTimeout,
      keepAliveTimeout: UPSTREAM_KEEPALIVE_TIMEOUT_MS,
      keepAliveMaxTimeout: 600_000,
      pipelining: 1,
    },
    dnsRefreshMs: config.dnsRefresh,
    ...(config.dnsServers.length > 0 ? { dnsServers: config.dnsServers } : {}),
  };
}

/**
 * Makes `upstreams` the set of the process' dispatcher (upstreams that stay keep their state, new ones
 * join after their first good probe, removed ones are drained) and the one `ctx` remembers.
 */
export function applyUpstreamSet(ctx: ProxyContext, upstreams: readonly UpstreamConfig[]): void {
  ctx.dispatcher.setUpstreams(dispatcherOptions(ctx.config, 'all', upstreams).upstreams);
  ctx.upstreams = upstreams;
}

/** The `data` of an upstream, made on first use. */
export function dataOf(
  upstream: ProxyUpstream,
  metrics: ProxyMetrics,
  history: TrafficHistory,
): UpstreamData {
  let data = upstream.data;
  if (data === undefined) {
    data = {
      metrics: metrics.upstream(upstream.url),
      traffic: history.upstream(upstream.name),
      inFlight: 0,
      since: Date.now(),
    };
    upstream.data = data;
  }
  return data;
}

/**
 * Builds the dispatcher of a role and turns its events into logs and metrics. States are reported by the
 * single process itself; in a cluster the primary reports them (it merges what the workers see).
 */
export function createDispatcher(
  config: ProxyConfig,
  metrics: ProxyMetrics,
  logger: Logger,
  role: DispatcherRole,
  history: TrafficHistory,
  upstreams?: readonly { url: string; weight: number; name?: string }[],
): ProxyDispatcher {
  const lb = new BalancedDispatcher<UpstreamData>(dispatcherOptions(config, role, upstreams));
  const data = (u: ProxyUpstream) => dataOf(u, metrics, history);
  const attach = (u: ProxyUpstream, status?: UpstreamStatus) => {
    const d = data(u);
    if (role === 'all') {
      const state = (status ?? lb.status().find((s) => s.name === u.name))?.state;
      if (state !== undefined) d.metrics.setState(state);
    }
  };
  const initial = lb.status();
  lb.upstreams().forEach((u, i) => attach(u, initial[i]));
  lb.on('upstreamAdded', (u) => attach(u));

  if (role !== 'forward') {
    lb.on('probe', (e) => data(e.upstream).metrics.healthCheck(e.result, e.durationMs / 1000));
    lb.on('dnsLookup', (e) => {
      metrics.dnsLookup(e.name, e.result);
      if (e.result === 'error')
        logger.warn('dns lookup failed; keeping the last known upstreams', {
          source: e.source,
          dns_name: e.name,
          type: e.type,
          error: e.error,
          upstreams: e.upstreams,
        });
      else logger.debug('dns lookup', { source: e.source, dns_name: e.name, result: e.result, ttl: e.ttl });
    });
  }
  if (role !== 'probes') {
    lb.on('ejected', (e) => {
      data(e.upstream).metrics.ejected();
      logger.warn('upstream ejected', {
        upstream: e.upstream.url,
        upstream_name: e.upstream.name,
        reason: e.reason,
        ejected_until: new Date(e.ejectedUntil).toISOString(),
        duration_ms: e.durationMs,
        ejections: e.ejections,
      });
    });
    lb.on('restored', (e) =>
      logger.info('upstream restored', {
        upstream: e.upstream.url,
        upstream_name: e.upstream.name,
        reason: e.reason,
      }),
    );
    lb.on('retry', (e) => {
      data(e.upstream).metrics.retried();
      logger.debug('request retried on another upstream', {
        upstream: e.upstream.url,
        next: e.next.url,
        attempt: e.attempt,
        reason: e.error.message,
      });
    });
  }
  if (role === 'all') {
    lb.on('stateChange', (e) => trackState(data(e.upstream), e.from, e.to));
    lb.on('upstreamRemoved', (u) => {
      metrics.removeUpstream(u.url);
      history.remove(u.name);
    });
  }
  if (role !== 'forward') {
    lb.on('down', (e) =>
      logger.warn('upstream down', {
        upstream: e.upstream.url,
        upstream_name: e.upstream.name,
        reason: e.reason,
      }),
    );
    lb.on('up', (e) =>
      logger.info('upstream up', { upstream: e.upstream.url, upstream_name: e.upstream.name }),
    );
  }
  return lb;
}

/** A change of an upstream's state, in its metrics: the state gauge, and in/out of rotation. */
export function trackState(
  data: UpstreamData,
  from: UpstreamStatus['state'],
  to: UpstreamStatus['state'],
): void {
  data.since = Date.now();
  data.metrics.setState(to);
  if (to === 'up') data.metrics.transition('up');
  else if (from === 'up') data.metrics.transition('down');
}
