import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { describe, MetricsError } from './errors.js';
import { applyRegistryOptions, assertNamesFree, resolveOptions, type MetricsOptions } from './options.js';
import { CounterFamily, GaugeFamily, HistogramFamily } from './series.js';
import { UpstreamRecorder, type ProxyFamilies, type UpstreamMetrics } from './upstream-metrics.js';

/**
 * `upstream` label value for requests that got no upstream (none healthy: the proxy answered 503).
 *
 * @example
 * metrics.upstream(NO_UPSTREAM).requestFinished('GET', 503, 'no_upstream', 0.0002);
 */
export const NO_UPSTREAM = 'none';

/**
 * The load balancer's metrics (the SPEC's admin-server metric table), registered in one registry.
 *
 * Record through {@link ProxyMetrics.upstream}'s handles; the prom-client objects are exposed for reading,
 * tests and anything this API does not cover. Counts recorded through the handles reach these objects when
 * the registry is scraped (`registry.metrics()`, `metric.get()`).
 *
 * @example
 * const metrics: ProxyMetrics = createMetrics();
 * metrics.upstream('http://127.0.0.1:3001').requestStarted();
 * await metrics.registry.metrics(); // ...roundguard_requests_in_flight{upstream="http://127.0.0.1:3001"} 1
 */
export interface ProxyMetrics {
  /** The registry holding every metric (and, unless disabled, prom-client's default metrics). */
  readonly registry: Registry;
  /** `roundguard_requests_total` counter {upstream, method, code, outcome}. */
  readonly requestsTotal: Counter<'upstream' | 'method' | 'code' | 'outcome'>;
  /** `roundguard_request_duration_seconds` histogram {upstream, method, code}. */
  readonly requestDuration: Histogram<'upstream' | 'method' | 'code'>;
  /** `roundguard_upstream_ttfb_seconds` histogram {upstream}. */
  readonly upstreamTtfb: Histogram<'upstream'>;
  /** `roundguard_requests_in_flight` gauge {upstream}. */
  readonly requestsInFlight: Gauge<'upstream'>;
  /** `roundguard_upstream_errors_total` counter {upstream, reason}. */
  readonly upstreamErrors: Counter<'upstream' | 'reason'>;
  /** `roundguard_upstream_up` gauge (0/1) {upstream}. */
  readonly upstreamUp: Gauge<'upstream'>;
  /** `roundguard_upstream_transitions_total` counter {upstream, to}. */
  readonly upstreamTransitions: Counter<'upstream' | 'to'>;
  /** `roundguard_health_checks_total` counter {upstream, result}. */
  readonly healthChecks: Counter<'upstream' | 'result'>;
  /** `roundguard_health_check_duration_seconds` histogram {upstream}. */
  readonly healthCheckDuration: Histogram<'upstream'>;

  /**
   * The recorder for one upstream, created on first use and cached: later calls with the same URL return
   * the same object, so calling this per request is cheap (one `Map` lookup). Creating it exports
   * `roundguard_requests_in_flight{upstream}` at 0; `roundguard_upstream_up` appears only once
   * `setUp()` is called.
   *
   * @param url the configured upstream URL (the `upstream` label value, kept as given), or
   *   {@link NO_UPSTREAM} for requests that got no upstream. A non-empty string, else
   *   `ERR_METRICS_INVALID_LABEL`.
   * @example
   * const up = metrics.upstream('http://127.0.0.1:3001');
   * up.setUp(true);
   */
  upstream(url: string): UpstreamMetrics;

  /**
   * Removes every series of one upstream (after a config reload dropped it) and detaches its handle:
   * calls on handles obtained earlier are ignored from now on. Unknown URLs are ignored.
   *
   * @example
   * metrics.removeUpstream('http://127.0.0.1:3001');
   */
  removeUpstream(url: string): void;
}

class ProxyMetricsImpl implements ProxyMetrics {
  readonly registry: Registry;
  readonly requestsTotal: Counter<'upstream' | 'method' | 'code' | 'outcome'>;
  readonly requestDuration: Histogram<'upstream' | 'method' | 'code'>;
  readonly upstreamTtfb: Histogram<'upstream'>;
  readonly requestsInFlight: Gauge<'upstream'>;
  readonly upstreamErrors: Counter<'upstream' | 'reason'>;
  readonly upstreamUp: Gauge<'upstream'>;
  readonly upstreamTransitions: Counter<'upstream' | 'to'>;
  readonly healthChecks: Counter<'upstream' | 'result'>;
  readonly healthCheckDuration: Histogram<'upstream'>;
  readonly #families: ProxyFamilies;
  readonly #upstreams = new Map<string, UpstreamRecorder>();

  constructor(registry: Registry, families: ProxyFamilies) {
    this.registry = registry;
    this.#families = families;
    this.requestsTotal = families.requestsTotal.metric;
    this.requestDuration = families.requestDuration.metric;
    this.upstreamTtfb = families.upstreamTtfb.metric;
    this.requestsInFlight = families.requestsInFlight.metric;
    this.upstreamErrors = families.upstreamErrors;
    this.upstreamUp = families.upstreamUp;
    this.upstreamTransitions = families.upstreamTransitions;
    this.healthChecks = families.healthChecks;
    this.healthCheckDuration = families.healthCheckDuration;
  }

  upstream(url: string): UpstreamMetrics {
    return this.#upstreams.get(url) ?? this.#create(url);
  }

  removeUpstream(url: string): void {
    const recorder = this.#upstreams.get(url);
    if (recorder === undefined) return;
    this.#upstreams.delete(url);
    recorder.detach();
  }

  #create(url: string): UpstreamRecorder {
    if (typeof url !== 'string' || url.length === 0) {
      throw new MetricsError(
        'ERR_METRICS_INVALID_LABEL',
        `Expected \`url\` to be a non-empty string (the upstream URL, or NO_UPSTREAM), got ${describe(url)}`,
      );
    }
    const recorder = new UpstreamRecorder(url, this.#families);
    this.#upstreams.set(url, recorder);
    return recorder;
  }
}

/** Metric names (without prefix) registered by {@link createMetrics}. */
const NAMES = [
  'requests_total',
  'request_duration_seconds',
  'upstream_ttfb_seconds',
  'requests_in_flight',
  'upstream_errors_total',
  'upstream_up',
  'upstream_transitions_total',
  'health_checks_total',
  'health_check_duration_seconds',
] as const;

/**
 * Creates the load balancer's metrics in a registry (a new one unless `options.registry` is given):
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `roundguard_requests_total` | counter | upstream, method, code, outcome |
 * | `roundguard_request_duration_seconds` | histogram | upstream, method, code |
 * | `roundguard_upstream_ttfb_seconds` | histogram | upstream |
 * | `roundguard_requests_in_flight` | gauge | upstream |
 * | `roundguard_upstream_errors_total` | counter | upstream, reason |
 * | `roundguard_upstream_up` | gauge 0/1 | upstream |
 * | `roundguard_upstream_transitions_total` | counter | upstream, to |
 * | `roundguard_health_checks_total` | counter | upstream, result |
 * | `roundguard_health_check_duration_seconds` | histogram | upstream |
 *
 * plus prom-client's default process and Node.js metrics (see {@link MetricsOptions.defaultMetrics}).
 *
 * Throws `ERR_METRICS_INVALID_OPTION` for a bad option and `ERR_METRICS_ALREADY_REGISTERED` when the
 * registry already has one of these names; in both cases nothing is registered.
 *
 * @param options see {@link MetricsOptions}.
 * @example
 * import { createServer } from 'node:http';
 * import { createMetrics, metricsHandler } from '@roundguard/metrics';
 *
 * const metrics = createMetrics();
 * const up = metrics.upstream('http://127.0.0.1:3001');
 * up.setUp(true);
 * up.requestStarted();
 * up.requestFinished('GET', 200, 'ok', 0.012);
 * createServer(metricsHandler(metrics.registry)).listen(9090, '127.0.0.1');
 */
export function createMetrics(options?: MetricsOptions): ProxyMetrics {
  const resolved = resolveOptions(options, 'createMetrics');
  const { registry, prefix, durationBuckets } = resolved;
  assertNamesFree(
    registry,
    NAMES.map((name) => prefix + name),
  );

  const registers = [registry];
  const families: ProxyFamilies = {
    requestsTotal: new CounterFamily({
      name: `${prefix}requests_total`,
      help: 'Requests handled, by upstream, method, response status code and outcome.',
      labelNames: ['upstream', 'method', 'code', 'outcome'],
      registry,
    }),
    requestDuration: new HistogramFamily({
      name: `${prefix}request_duration_seconds`,
      help: 'Time from receiving a request to finishing its response, in seconds.',
      labelNames: ['upstream', 'method', 'code'],
      registry,
      buckets: durationBuckets,
    }),
    upstreamTtfb: new HistogramFamily({
      name: `${prefix}upstream_ttfb_seconds`,
      help: "Time from sending a request upstream to receiving the upstream's response headers, in seconds.",
      labelNames: ['upstream'],
      registry,
      buckets: durationBuckets,
    }),
    requestsInFlight: new GaugeFamily({
      name: `${prefix}requests_in_flight`,
      help: 'Requests being handled right now, by upstream.',
      labelNames: ['upstream'],
      registry,
    }),
    upstreamErrors: new Counter({
      name: `${prefix}upstream_errors_total`,
      help: 'Failed exchanges with an upstream, by error code.',
      labelNames: ['upstream', 'reason'],
      registers,
    }),
    upstreamUp: new Gauge({
      name: `${prefix}upstream_up`,
      help: 'Whether the upstream is in rotation (1) or not (0).',
      labelNames: ['upstream'],
      registers,
    }),
    upstreamTransitions: new Counter({
      name: `${prefix}upstream_transitions_total`,
      help: 'Upstream state changes, by the state entered.',
      labelNames: ['upstream', 'to'],
      registers,
    }),
    healthChecks: new Counter({
      name: `${prefix}health_checks_total`,
      help: 'Health probes, by result.',
      labelNames: ['upstream', 'result'],
      registers,
    }),
    healthCheckDuration: new Histogram({
      name: `${prefix}health_check_duration_seconds`,
      help: 'Duration of health probes, in seconds.',
      labelNames: ['upstream'],
      buckets: [...durationBuckets],
      registers,
    }),
  };
  applyRegistryOptions(resolved);
  return new ProxyMetricsImpl(registry, families);
}
