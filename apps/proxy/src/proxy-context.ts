// State shared by the proxy's request path: the dispatcher, metrics, logger, settings and drain state.
import type { Logger } from '@roundguard/logger';
import { NO_UPSTREAM, type ProxyMetrics, type UpstreamMetrics } from '@roundguard/metrics';
import type { TrafficHistory } from './dashboard/traffic-history.js';
import type { ProxyConfig, UpstreamConfig } from './options.js';
import type { ProxyDispatcher } from './upstreams.js';

export class ProxyContext {
  /** Picks the upstream of each request and forwards it (one per process). */
  readonly dispatcher: ProxyDispatcher;
  readonly metrics: ProxyMetrics;
  /** Metrics for requests that got no upstream (none healthy, or rejected before balancing). */
  readonly noUpstream: UpstreamMetrics;
  readonly logger: Logger;
  readonly config: ProxyConfig;
  /** Per-upstream traffic of the last minutes, for the dashboard (fed by {@link account}). */
  readonly history: TrafficHistory;
  /** `Retry-After` of a 503 NO_HEALTHY_UPSTREAM: one probe interval, in whole seconds. */
  readonly retryAfter: string;
  /**
   * The upstream set (URLs as given, discovery URLs included): the config's, then a reload's, with the
   * admin API's additions, removals and weights.
   */
  upstreams: readonly UpstreamConfig[];
  /** Set on the first SIGTERM/SIGINT: `/readyz` answers 503; traffic is served until the drain (shutdown.ts). */
  shuttingDown = false;
  /** Set when the drain starts: answers carry `Connection: close`. */
  draining = false;
  /** Requests being forwarded right now. */
  inFlight = 0;
  /** Called whenever `inFlight` drops to 0 (the drain waits on it). */
  onIdle: () => void = () => undefined;

  constructor(
    dispatcher: ProxyDispatcher,
    metrics: ProxyMetrics,
    logger: Logger,
    config: ProxyConfig,
    history: TrafficHistory,
  ) {
    this.history = history;
    this.dispatcher = dispatcher;
    this.metrics = metrics;
    this.noUpstream = metrics.upstream(NO_UPSTREAM);
    this.logger = logger;
    this.config = config;
    this.upstreams = config.upstreams;
    this.retryAfter = String(Math.max(1, Math.ceil(config.healthInterval / 1000)));
  }
}
