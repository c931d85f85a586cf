// The admin dashboard: the traffic history the request path feeds, and the page's request handler.
export { createDashboard, CONTENT_SECURITY_POLICY } from './dashboard.js';
export type { Dashboard, DashboardOptions } from './dashboard.js';
export { DashboardError } from './errors.js';
export type { DashboardErrorCode } from './errors.js';
export { QUANTILE_RELATIVE_ERROR } from './latency-buckets.js';
export { UPSTREAM_STATES } from './rows.js';
export type {
  DashboardRow,
  DashboardSnapshot,
  ProbeLike,
  UpstreamState,
  UpstreamStatusLike,
} from './rows.js';
export { SPARKLINE_POINTS, SPARKLINE_STEP_SECONDS, TrafficHistory } from './traffic-history.js';
export type { TrafficHistoryOptions, UpstreamRecorder, UpstreamTraffic } from './traffic-history.js';
