// The metric sets of this package, each declared once. The families, the typed properties of
// `ProxyMetrics` / `HttpServerMetrics`, the names checked against the registry, the reserved label names and
// the README's metric tables (scripts/readme-table.mjs) are all derived from these tables.
import { defineMetricTable } from './metric-spec.js';
import {
  ADMIN_ACTIONS,
  DNS_LOOKUP_RESULTS,
  HEALTH_CHECK_RESULTS,
  OUTCOMES,
  TRANSITIONS,
  UPSTREAM_STATES,
} from './outcome.js';

/**
 * The load balancer's metrics, registered by {@link createMetrics} under the prefix (default `roundguard_`)
 * and exposed by {@link ProxyMetrics} under these keys.
 *
 * @example
 * PROXY_METRICS.requestsTotal.labels; // ['upstream', 'method', 'code', 'outcome']
 */
export const PROXY_METRICS = defineMetricTable({
  /** Requests handled; recorded by `UpstreamMetrics.requestFinished`. */
  requestsTotal: {
    name: 'requests_total',
    type: 'counter',
    help: 'Requests handled, by upstream, method, response status code and outcome.',
    labels: ['upstream', 'method', 'code', 'outcome'],
    values: { outcome: OUTCOMES },
  },
  /** Request durations; recorded by `UpstreamMetrics.requestFinished`. */
  requestDuration: {
    name: 'request_duration_seconds',
    type: 'histogram',
    help: 'Time from receiving a request to finishing its response, in seconds.',
    labels: ['upstream', 'method', 'code'],
    buckets: 'durationBuckets',
  },
  /** Upstream times to response headers; recorded by `UpstreamMetrics.ttfb`. */
  upstreamTtfb: {
    name: 'upstream_ttfb_seconds',
    type: 'histogram',
    help: "Time from sending a request upstream to receiving the upstream's response headers, in seconds.",
    labels: ['upstream'],
    buckets: 'durationBuckets',
  },
  /** Requests in flight; moved by `UpstreamMetrics.requestStarted` and `requestFinished`. */
  requestsInFlight: {
    name: 'requests_in_flight',
    type: 'gauge',
    help: 'Requests being handled right now, by upstream.',
    labels: ['upstream'],
  },
  /** Failed exchanges; recorded by `UpstreamMetrics.upstreamError`. */
  upstreamErrors: {
    name: 'upstream_errors_total',
    type: 'counter',
    help: 'Failed exchanges with an upstream, by error code.',
    labels: ['upstream', 'reason'],
  },
  /** 1 while in rotation, else 0; set by `UpstreamMetrics.setUp` and `setState`. */
  upstreamUp: {
    name: 'upstream_up',
    type: 'gauge',
    help: 'Whether the upstream is in rotation (1) or not (0).',
    labels: ['upstream'],
  },
  /** State changes between up and down; recorded by `UpstreamMetrics.transition`. */
  upstreamTransitions: {
    name: 'upstream_transitions_total',
    type: 'counter',
    help: 'Upstream state changes, by the state entered.',
    labels: ['upstream', 'to'],
    values: { to: TRANSITIONS },
  },
  /** Health probes; recorded by `UpstreamMetrics.healthCheck`. */
  healthChecks: {
    name: 'health_checks_total',
    type: 'counter',
    help: 'Health probes, by result.',
    labels: ['upstream', 'result'],
    values: { result: HEALTH_CHECK_RESULTS },
  },
  /** Health probe durations; recorded by `UpstreamMetrics.healthCheck`. */
  healthCheckDuration: {
    name: 'health_check_duration_seconds',
    type: 'histogram',
    help: 'Duration of health probes, in seconds.',
    labels: ['upstream'],
    buckets: 'durationBuckets',
  },
  /** The current state, one series per state; set by `UpstreamMetrics.setState`. */
  upstreamState: {
    name: 'upstream_state',
    type: 'gauge',
    help: 'Current state of the upstream: 1 for the state it is in, 0 for the others.',
    labels: ['upstream', 'state'],
    values: { state: UPSTREAM_STATES },
  },
  /** Outlier-detection ejections; recorded by `UpstreamMetrics.ejected`. */
  upstreamEjections: {
    name: 'upstream_ejections_total',
    type: 'counter',
    help: 'Times outlier detection took the upstream out of rotation.',
    labels: ['upstream'],
  },
  /** Retries; recorded by `UpstreamMetrics.retried`. */
  retries: {
    name: 'retries_total',
    type: 'counter',
    help: 'Requests tried again on another upstream after they could not reach this one.',
    labels: ['upstream'],
  },
  /** Discovery lookups; recorded by `ProxyMetrics.dnsLookup`. */
  dnsLookups: {
    name: 'dns_lookups_total',
    type: 'counter',
    help: 'DNS lookups for upstream discovery, by name looked up and result.',
    labels: ['name', 'result'],
    values: { result: DNS_LOOKUP_RESULTS },
  },
  /** Changes made through the admin write API; recorded by `ProxyMetrics.adminChange`. */
  adminChanges: {
    name: 'admin_changes_total',
    type: 'counter',
    help: 'Upstream changes made through the admin write API, by action.',
    labels: ['action'],
    values: { action: ADMIN_ACTIONS },
  },
});

/**
 * A plain HTTP server's request metrics, registered by {@link createHttpServerMetrics} under the prefix
 * (default `roundguard_`) and exposed by {@link HttpServerMetrics} under these keys.
 *
 * @example
 * HTTP_SERVER_METRICS.requestsTotal.name; // 'http_requests_total'
 */
export const HTTP_SERVER_METRICS = defineMetricTable({
  /** Requests answered; recorded by `HttpServerMetrics.requestFinished`. */
  requestsTotal: {
    name: 'http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered, by method and response status code.',
    labels: ['method', 'code'],
  },
  /** Request durations; recorded by `HttpServerMetrics.requestFinished`. */
  requestDuration: {
    name: 'http_request_duration_seconds',
    type: 'histogram',
    help: 'Time from receiving an HTTP request to finishing its response, in seconds.',
    labels: ['method', 'code'],
    buckets: 'durationBuckets',
  },
  /** Requests in flight; moved by `HttpServerMetrics.requestStarted` and `requestFinished`. */
  requestsInFlight: {
    name: 'http_requests_in_flight',
    type: 'gauge',
    help: 'HTTP requests being handled right now.',
    labels: [],
  },
});
