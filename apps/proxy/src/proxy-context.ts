// State shared by the proxy's request path: the balancer, metrics, logger, settings and drain state.
import type { Balancer } from '@roundguard/balancer';
import type { Logger } from '@roundguard/logger';
import { NO_UPSTREAM, type ProxyMetrics, type UpstreamMetrics } from '@roundguard/metrics';
import type { ProxyConfig } from './options.js';
import type { Upstream } from './upstreams.js';

export class ProxyContext {
  readonly balancer: Balancer<Upstream>;
  readonly metrics: ProxyMetrics;
  /** Metrics for requests that got no upstream (none healthy, or rejected before balancing). */
  readonly noUpstream: UpstreamMetrics;
  readonly logger: Logger;
  readonly config: ProxyConfig;
  /** Set on SIGTERM/SIGINT: answers carry `Connection: close`. */
  draining = false;
  /** Requests being forwarded right now. */
  inFlight = 0;
  /** Called whenever `inFlight` drops to 0 (the drain waits on it). */
  onIdle: () => void = () => undefined;

  constructor(balancer: Balancer<Upstream>, metrics: ProxyMetrics, logger: Logger, config: ProxyConfig) {
    this.balancer = balancer;
    this.metrics = metrics;
    this.noUpstream = metrics.upstream(NO_UPSTREAM);
    this.logger = logger;
    this.config = config;
  }
}
