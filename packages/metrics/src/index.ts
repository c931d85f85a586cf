export { createMetrics, NO_UPSTREAM, type ProxyMetrics } from './create-metrics.js';
export { createHttpServerMetrics, type HttpServerMetrics } from './http-server-metrics.js';
export { metricsHandler, type MetricsHandlerOptions } from './metrics-handler.js';
export { type UpstreamMetrics } from './upstream-metrics.js';
export { PROXY_METRICS, HTTP_SERVER_METRICS } from './metric-tables.js';
export { type MetricSpec, type MetricTable, type MetricOf, type MetricsOf } from './metric-spec.js';
export { HISTOGRAM_FALLBACK_WARNING } from './histogram-store.js';
export {
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_PREFIX,
  RESERVED_LABEL_NAMES,
  type MetricsOptions,
} from './options.js';
export { normalizeMethod, METHOD_LABELS, type MethodLabel } from './method-label.js';
export { normalizeStatus } from './status-label.js';
export { normalizeReason, MAX_REASONS_PER_UPSTREAM } from './reason-label.js';
export {
  OUTCOMES,
  HEALTH_CHECK_RESULTS,
  TRANSITIONS,
  UPSTREAM_STATES,
  DNS_LOOKUP_RESULTS,
  ADMIN_ACTIONS,
  type AdminAction,
  type Outcome,
  type HealthCheckResult,
  type Transition,
  type UpstreamState,
  type DnsLookupResult,
} from './outcome.js';
export { MetricsError, type MetricsErrorCode } from './errors.js';
