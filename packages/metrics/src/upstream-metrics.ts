import type { Counter, Gauge, Histogram } from 'prom-client';
import { describe, MetricsError } from './errors.js';
import { METHOD_LABELS, methodIndex } from './method-label.js';
import {
  HEALTH_CHECK_RESULTS,
  healthCheckResultIndex,
  invalidSeconds,
  isSeconds,
  outcomeIndex,
  OUTCOMES,
  TRANSITIONS,
  transitionIndex,
  type HealthCheckResult,
  type Outcome,
  type Transition,
} from './outcome.js';
import { MAX_REASONS_PER_UPSTREAM, normalizeReason } from './reason-label.js';
import type {
  CounterCell,
  CounterFamily,
  GaugeCell,
  GaugeFamily,
  HistogramCell,
  HistogramFamily,
  LabelSet,
} from './series.js';
import { STATUS_LABEL_COUNT, statusIndex, statusLabelAt } from './status-label.js';

/**
 * Recorder for one upstream, returned (and cached) by `ProxyMetrics.upstream(url)`. Every series it writes
 * carries `upstream="<url>"`.
 *
 * The request methods are the hot path: they touch only this object's own counters (no prom-client call,
 * no label hashing, no allocation once a method/status/outcome combination has been seen), and the
 * registry picks the numbers up when it is scraped.
 *
 * Call {@link UpstreamMetrics.requestStarted} once before each {@link UpstreamMetrics.requestFinished},
 * including for requests recorded under `NO_UPSTREAM`, or `roundguard_requests_in_flight` drifts.
 *
 * After `ProxyMetrics.removeUpstream(url)` a handle obtained before ignores every call (arguments are still
 * validated); ask `upstream(url)` again for a fresh one.
 *
 * @example
 * const up = metrics.upstream('http://10.0.0.7:3000');
 * up.requestStarted();
 * // ... upstream answers headers after 12 ms, the response ends after 40 ms
 * up.ttfb(0.012);
 * up.requestFinished('GET', 200, 'ok', 0.04);
 */
export interface UpstreamMetrics {
  /** The `upstream` label value: the URL given to `upstream(url)`, or `NO_UPSTREAM`. */
  readonly upstream: string;

  /** A request to this upstream started: `roundguard_requests_in_flight` +1. */
  requestStarted(): void;

  /**
   * A request ended: `roundguard_requests_in_flight` -1, `roundguard_requests_total` +1 and one
   * `roundguard_request_duration_seconds` observation.
   *
   * @param method the request method; normalized like {@link normalizeMethod} (non-standard → `OTHER`).
   * @param status the status sent to the client; normalized like {@link normalizeStatus} (an integer from
   *   100 to 599, anything else → `other`, e.g. 0 when no response was sent).
   * @param outcome how the request ended; anything outside {@link Outcome} throws `ERR_METRICS_INVALID_LABEL`.
   * @param durationSeconds time from receiving the request to finishing the response, in seconds; a negative
   *   or non-finite value throws `ERR_METRICS_INVALID_VALUE` (and records nothing).
   */
  requestFinished(method: string, status: number, outcome: Outcome, durationSeconds: number): void;

  /**
   * Time from sending the request upstream to receiving the upstream's response headers:
   * one `roundguard_upstream_ttfb_seconds` observation.
   *
   * @param seconds a finite number from 0 up, else `ERR_METRICS_INVALID_VALUE`.
   */
  ttfb(seconds: number): void;

  /**
   * An exchange with this upstream failed: `roundguard_upstream_errors_total{reason}` +1.
   *
   * @param reason an error code such as `ECONNREFUSED` or `UND_ERR_HEADERS_TIMEOUT` (typically `err.code`).
   *   Kept only when it matches `/^[A-Z][A-Z0-9_]{0,63}$/` and fewer than {@link MAX_REASONS_PER_UPSTREAM}
   *   other reasons were seen for this upstream; otherwise counted as `OTHER`.
   */
  upstreamError(reason: string): void;

  /**
   * Sets `roundguard_upstream_up` to 1 (in rotation) or 0. The series exists from the first call on.
   *
   * @param up a boolean, else `ERR_METRICS_INVALID_VALUE`.
   */
  setUp(up: boolean): void;

  /**
   * The upstream changed state: `roundguard_upstream_transitions_total{to}` +1. Both `to="up"` and
   * `to="down"` are exported (at 0) from the first call on, so `increase()` sees the first transition.
   *
   * @param to `'up'` or `'down'`, else `ERR_METRICS_INVALID_LABEL`.
   */
  transition(to: Transition): void;

  /**
   * One health probe ended: `roundguard_health_checks_total{result}` +1 and one
   * `roundguard_health_check_duration_seconds` observation. All four results are exported (at 0) from the
   * first call on.
   *
   * @param result a {@link HealthCheckResult}, else `ERR_METRICS_INVALID_LABEL`.
   * @param durationSeconds the probe's duration, a finite number from 0 up, else `ERR_METRICS_INVALID_VALUE`.
   */
  healthCheck(result: HealthCheckResult, durationSeconds: number): void;
}

/** The metric families one proxy's upstream handles write to. */
export interface ProxyFamilies {
  readonly requestsTotal: CounterFamily<'upstream' | 'method' | 'code' | 'outcome'>;
  readonly requestDuration: HistogramFamily<'upstream' | 'method' | 'code'>;
  readonly upstreamTtfb: HistogramFamily<'upstream'>;
  readonly requestsInFlight: GaugeFamily<'upstream'>;
  readonly upstreamErrors: Counter<'upstream' | 'reason'>;
  readonly upstreamUp: Gauge<'upstream'>;
  readonly upstreamTransitions: Counter<'upstream' | 'to'>;
  readonly healthChecks: Counter<'upstream' | 'result'>;
  readonly healthCheckDuration: Histogram<'upstream'>;
}

/** Series of one method × status combination. */
interface Slot {
  readonly labels: LabelSet;
  readonly duration: HistogramCell;
  /** One counter per outcome (index from `outcomeIndex`), created on first use. */
  readonly totals: (CounterCell | undefined)[];
}

/** {@link UpstreamMetrics} implementation. Internal: callers get it typed as the interface. */
export class UpstreamRecorder implements UpstreamMetrics {
  readonly upstream: string;
  readonly #families: ProxyFamilies;
  readonly #labels: LabelSet;
  readonly #inFlight: GaugeCell;
  /** Key: `methodIndex * STATUS_LABEL_COUNT + statusIndex`; a small integer, so lookups allocate nothing. */
  readonly #slots = new Map<number, Slot>();
  #ttfb: HistogramCell | undefined;
  /** Reason as given → its label set; only well-formed reasons under the cap are cached. */
  readonly #reasons = new Map<string, LabelSet>();
  #otherReason: LabelSet | undefined;
  #transitions: readonly LabelSet[] | undefined;
  #healthResults: readonly LabelSet[] | undefined;
  #detached = false;

  constructor(upstream: string, families: ProxyFamilies) {
    this.upstream = upstream;
    this.#families = families;
    this.#labels = { upstream };
    this.#inFlight = families.requestsInFlight.add({ upstream });
  }

  requestStarted(): void {
    if (this.#detached) return;
    this.#inFlight.value++;
  }

  requestFinished(method: string, status: number, outcome: Outcome, durationSeconds: number): void {
    const o = outcomeIndex(outcome);
    if (!isSeconds(durationSeconds)) throw invalidSeconds('durationSeconds', durationSeconds);
    if (this.#detached) return;
    const key = methodIndex(method) * STATUS_LABEL_COUNT + statusIndex(status);
    const slot = this.#slots.get(key) ?? this.#newSlot(key);
    slot.duration.observe(durationSeconds);
    const total = slot.totals[o] ?? this.#newTotal(slot, o);
    total.value++;
    this.#inFlight.value--;
  }

  ttfb(seconds: number): void {
    if (!isSeconds(seconds)) throw invalidSeconds('seconds', seconds);
    if (this.#detached) return;
    (this.#ttfb ??= this.#families.upstreamTtfb.add(this.#labels)).observe(seconds);
  }

  upstreamError(reason: string): void {
    if (this.#detached) return;
    const labels = this.#reasons.get(reason) ?? this.#reasonLabels(reason);
    this.#families.upstreamErrors.inc(labels);
  }

  setUp(up: boolean): void {
    if (typeof up !== 'boolean') {
      throw new MetricsError(
        'ERR_METRICS_INVALID_VALUE',
        `Expected \`up\` to be a boolean, got ${describe(up)}`,
      );
    }
    if (this.#detached) return;
    this.#families.upstreamUp.set(this.#labels, up ? 1 : 0);
  }

  transition(to: Transition): void {
    const i = transitionIndex(to);
    if (this.#detached) return;
    const counter = this.#families.upstreamTransitions;
    if (this.#transitions === undefined) {
      this.#transitions = TRANSITIONS.map((value) => ({ upstream: this.upstream, to: value }));
      for (const labels of this.#transitions) counter.inc(labels, 0);
    }
    counter.inc(this.#transitions[i] as LabelSet);
  }

  healthCheck(result: HealthCheckResult, durationSeconds: number): void {
    const i = healthCheckResultIndex(result);
    if (!isSeconds(durationSeconds)) throw invalidSeconds('durationSeconds', durationSeconds);
    if (this.#detached) return;
    const counter = this.#families.healthChecks;
    if (this.#healthResults === undefined) {
      this.#healthResults = HEALTH_CHECK_RESULTS.map((value) => ({ upstream: this.upstream, result: value }));
      for (const labels of this.#healthResults) counter.inc(labels, 0);
    }
    counter.inc(this.#healthResults[i] as LabelSet);
    this.#families.healthCheckDuration.observe(this.#labels, durationSeconds);
  }

  /** Removes every series of this upstream and makes the handle ignore further calls. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const f = this.#families;
    for (const slot of this.#slots.values()) {
      f.requestDuration.remove(slot.duration);
      for (const total of slot.totals) if (total !== undefined) f.requestsTotal.remove(total);
    }
    this.#slots.clear();
    if (this.#ttfb !== undefined) f.upstreamTtfb.remove(this.#ttfb);
    f.requestsInFlight.remove(this.#inFlight);
    for (const labels of this.#reasons.values()) f.upstreamErrors.remove(labels);
    if (this.#otherReason !== undefined) f.upstreamErrors.remove(this.#otherReason);
    this.#reasons.clear();
    f.upstreamUp.remove(this.#labels);
    for (const labels of this.#transitions ?? []) f.upstreamTransitions.remove(labels);
    for (const labels of this.#healthResults ?? []) f.healthChecks.remove(labels);
    f.healthCheckDuration.remove(this.#labels);
  }

  #newSlot(key: number): Slot {
    const labels: LabelSet = {
      upstream: this.upstream,
      method: METHOD_LABELS[Math.floor(key / STATUS_LABEL_COUNT)] as string,
      code: statusLabelAt(key % STATUS_LABEL_COUNT),
    };
    const slot: Slot = {
      labels,
      duration: this.#families.requestDuration.add(labels),
      totals: new Array<CounterCell | undefined>(OUTCOMES.length).fill(undefined),
    };
    this.#slots.set(key, slot);
    return slot;
  }

  #newTotal(slot: Slot, outcome: number): CounterCell {
    const cell = this.#families.requestsTotal.add({ ...slot.labels, outcome: OUTCOMES[outcome] as string });
    slot.totals[outcome] = cell;
    return cell;
  }

  #reasonLabels(reason: string): LabelSet {
    const normalized = normalizeReason(reason);
    if (normalized === 'OTHER' || this.#reasons.size >= MAX_REASONS_PER_UPSTREAM) {
      return (this.#otherReason ??= { upstream: this.upstream, reason: 'OTHER' });
    }
    const labels = { upstream: this.upstream, reason: normalized };
    this.#reasons.set(reason, labels);
    return labels;
  }
}
