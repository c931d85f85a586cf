import type { Registry } from 'prom-client';
import { createMetricSet } from './metric-families.js';
import type { FamiliesOf, MetricsOf } from './metric-spec.js';
import { HTTP_SERVER_METRICS } from './metric-tables.js';
import { METHOD_LABELS, methodIndex } from './method-label.js';
import type { MetricsOptions } from './options.js';
import { invalidSeconds, isSeconds } from './outcome.js';
import type { HistogramCell, ScalarCell } from './series.js';
import { STATUS_LABEL_COUNT, statusIndex, statusLabelAt } from './status-label.js';

/**
 * Request metrics of a plain HTTP server (a backend, not the proxy), the rows of
 * {@link HTTP_SERVER_METRICS}, in one registry. The prom-client object of each row is exposed under the
 * row's key (`requestsTotal`, `requestDuration`, `requestsInFlight`).
 *
 * With the default prefix the names are `roundguard_http_requests_total`, ... : distinct from the proxy's
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
export interface HttpServerMetrics extends MetricsOf<typeof HTTP_SERVER_METRICS> {
  /** The registry holding every metric (and, unless disabled, prom-client's default metrics). */
  readonly registry: Registry;

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
  readonly total: ScalarCell;
  readonly duration: HistogramCell;
}

class HttpServerMetricsCore {
  readonly registry: Registry;
  readonly #families: FamiliesOf<typeof HTTP_SERVER_METRICS>;
  readonly #inFlight: ScalarCell;
  readonly #slots = new Map<number, Slot>();

  constructor(registry: Registry, families: FamiliesOf<typeof HTTP_SERVER_METRICS>) {
    this.registry = registry;
    this.#families = families;
    this.#inFlight = families.requestsInFlight.add({});
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
    const f = this.#families;
    const slot: Slot = { total: f.requestsTotal.add(labels), duration: f.requestDuration.add(labels) };
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
  return createMetricSet(
    'createHttpServerMetrics',
    HTTP_SERVER_METRICS,
    options,
    (registry, families) => new HttpServerMetricsCore(registry, families),
  );
}
