export { createMetrics, NO_UPSTREAM, type ProxyMetrics } from './create-metrics.js';
export { createHttpServerMetrics, type HttpServerMetrics } from './http-server-metrics.js';
export { metricsHandler, type MetricsHandlerOptions } from './metrics-handler.js';
export { type UpstreamMetrics } from './upstream-metrics.js';
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
  type Outcome,
  type HealthCheckResult,
  type Transition,
} from './outcome.js';
export { MetricsError, type MetricsErrorCode } from './errors.js';
