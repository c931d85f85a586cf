import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METHOD_LABELS, methodIndex } from './method-label.js';
import { applyRegistryOptions, assertNamesFree, resolveOptions, type MetricsOptions } from './options.js';
import { invalidSeconds, isSeconds } from './outcome.js';
import {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  type CounterCell,
  type GaugeCell,
  type HistogramCell,
} from './series.js';
import { STATUS_LABEL_COUNT, statusIndex, statusLabelAt } from './status-label.js';

/**
 * Request metrics of a plain HTTP server (a backend, not the proxy), in one registry:
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `<prefix>http_requests_total` | counter | method, code |
 * | `<prefix>http_request_duration_seconds` | histogram | method, code |
 * | `<prefix>http_requests_in_flight` | gauge | |
 *
 * With the default prefix these are `roundguard_http_requests_total`, ... : distinct from the proxy's
 * names, so both sets can share one registry.
 *
 * @example
 * const metrics = createHttpServerMetrics();
 * server.on('request', (req, res) => {
 *   const start = process.hrtime.bigint();
 *   metrics.requestStarted();
 *   res.on('close', () => {
 *     metrics.requestFinished(req.method ?? 'GET', res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
 *   });
 * });
 */
export interface HttpServerMetrics {
  /** The registry holding every metric (and, unless disabled, prom-client's default metrics). */
  readonly registry: Registry;
  /** `<prefix>http_requests_total` counter {method, code}. */
  readonly requestsTotal: Counter<'method' | 'code'>;
  /** `<prefix>http_request_duration_seconds` histogram {method, code}. */
  readonly requestDuration: Histogram<'method' | 'code'>;
  /** `<prefix>http_requests_in_flight` gauge. */
  readonly requestsInFlight: Gauge;

  /** A request arrived: `<prefix>http_requests_in_flight` +1. Pair each with one `requestFinished`. */
  requestStarted(): void;

  /**
   * A request ended: in-flight -1, `<prefix>http_requests_total` +1, one duration observation. Allocation-free
   * and without prom-client calls once a method × status combination has been seen.
   *
   * @param method the request method; non-standard methods are counted as `OTHER` (see {@link normalizeMethod}).
   * @param status the response status; outside 100–599 it is counted as `other` (see {@link normalizeStatus}).
   * @param durationSeconds a finite number of seconds from 0 up, else `ERR_METRICS_INVALID_VALUE` (and
   *   nothing is recorded).
   */
  requestFinished(method: string, status: number, durationSeconds: number): void;
}

interface Slot {
  readonly total: CounterCell;
  readonly duration: HistogramCell;
}

class HttpServerMetricsImpl implements HttpServerMetrics {
  readonly registry: Registry;
  readonly requestsTotal: Counter<'method' | 'code'>;
  readonly requestDuration: Histogram<'method' | 'code'>;
  readonly requestsInFlight: Gauge;
  readonly #total: CounterFamily<'method' | 'code'>;
  readonly #duration: HistogramFamily<'method' | 'code'>;
  readonly #inFlight: GaugeCell;
  readonly #slots = new Map<number, Slot>();

  constructor(
    registry: Registry,
    total: CounterFamily<'method' | 'code'>,
    duration: HistogramFamily<'method' | 'code'>,
    inFlight: GaugeFamily<string>,
  ) {
    this.registry = registry;
    this.#total = total;
    this.#duration = duration;
    this.#inFlight = inFlight.add({});
    this.requestsTotal = total.metric;
    this.requestDuration = duration.metric;
    this.requestsInFlight = inFlight.metric;
  }

  requestStarted(): void {
    this.#inFlight.value++;
  }

  requestFinished(method: string, status: number, durationSeconds: number): void {
    if (!isSeconds(durationSeconds)) throw invalidSeconds('durationSeconds', durationSeconds);
    const key = methodIndex(method) * STATUS_LABEL_COUNT + statusIndex(status);
    const slot = this.#slots.get(key) ?? this.#newSlot(key);
    slot.total.value++;
    slot.duration.observe(durationSeconds);
    this.#inFlight.value--;
  }

  #newSlot(key: number): Slot {
    const labels = {
      method: METHOD_LABELS[Math.floor(key / STATUS_LABEL_COUNT)] as string,
      code: statusLabelAt(key % STATUS_LABEL_COUNT),
    };
    const slot: Slot = { total: this.#total.add(labels), duration: this.#duration.add(labels) };
    this.#slots.set(key, slot);
    return slot;
  }
}

/**
 * Creates request metrics for a plain HTTP server (see {@link HttpServerMetrics}) in a registry (a new one
 * unless `options.registry` is given). Same options and errors as {@link createMetrics}; the default prefix
 * is also `'roundguard_'`.
 *
 * @param options see {@link MetricsOptions}.
 * @example
 * import { createServer } from 'node:http';
 * import { createHttpServerMetrics, metricsHandler } from '@roundguard/metrics';
 *
 * const metrics = createHttpServerMetrics();
 * const serveMetrics = metricsHandler(metrics.registry);
 * createServer((req, res) => {
 *   if (req.url === '/metrics') return serveMetrics(req, res);
 *   const start = performance.now();
 *   metrics.requestStarted();
 *   res.on('close', () => metrics.requestFinished(req.method ?? 'GET', res.statusCode, (performance.now() - start) / 1000));
 *   res.end('hello');
 * }).listen(3000);
 */
export function createHttpServerMetrics(options?: MetricsOptions): HttpServerMetrics {
  const resolved = resolveOptions(options, 'createHttpServerMetrics');
  const { registry, prefix, durationBuckets } = resolved;
  const names = {
    total: `${prefix}http_requests_total`,
    duration: `${prefix}http_request_duration_seconds`,
    inFlight: `${prefix}http_requests_in_flight`,
  };
  assertNamesFree(registry, Object.values(names));

  const total = new CounterFamily<'method' | 'code'>({
    name: names.total,
    help: 'HTTP requests answered, by method and response status code.',
    labelNames: ['method', 'code'],
    registry,
  });
  const duration = new HistogramFamily<'method' | 'code'>({
    name: names.duration,
    help: 'Time from receiving an HTTP request to finishing its response, in seconds.',
    labelNames: ['method', 'code'],
    registry,
    buckets: durationBuckets,
  });
  const inFlight = new GaugeFamily<string>({
    name: names.inFlight,
    help: 'HTTP requests being handled right now.',
    labelNames: [],
    registry,
  });
  applyRegistryOptions(resolved);
  return new HttpServerMetricsImpl(registry, total, duration, inFlight);
}
