import { describe, MetricsError } from './errors.js';
import type { LabelSet } from './label-set.js';
import type { FamiliesOf } from './metric-spec.js';
import type { PROXY_METRICS } from './metric-tables.js';
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
  UPSTREAM_STATES,
  upstreamStateIndex,
  type HealthCheckResult,
  type Outcome,
  type Transition,
  type UpstreamState,
} from './outcome.js';
import { MAX_REASONS_PER_UPSTREAM, normalizeReason } from './reason-label.js';
import type { Family, HistogramCell, ScalarCell } from './series.js';
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

  /**
   * Sets the upstream's state: `roundguard_upstream_state{state}` is 1 for `state` and 0 for the four
   * others, and `roundguard_upstream_up` is 1 for `up` and 0 otherwise (so there is no need to call
   * {@link UpstreamMetrics.setUp} as well). The first call exports all five states, and
   * `roundguard_upstream_ejections_total` and `roundguard_retries_total` at 0, so `increase()` sees their
   * first change.
   *
   * @param state an {@link UpstreamState}, else `ERR_METRICS_INVALID_LABEL`.
   * @example
   * up.setState('draining'); // upstream_state{state="draining"} 1, the others 0; upstream_up 0
   */
  setState(state: UpstreamState): void;

  /**
   * Outlier detection took this upstream out of rotation: `roundguard_upstream_ejections_total` +1.
   * Record the state change with {@link UpstreamMetrics.setState}`('ejected')`.
   *
   * @example
   * up.ejected();
   * up.setState('ejected');
   */
  ejected(): void;

  /**
   * A request that provably did not reach this upstream (a connect failure) is tried again on another
   * one: `roundguard_retries_total` +1, on the upstream that failed.
   *
   * @example
   * up.upstreamError('ECONNREFUSED');
   * up.retried();
   */
  retried(): void;
}

/** The metric families of one `ProxyMetrics`. */
export type ProxyFamilies = FamiliesOf<typeof PROXY_METRICS>;

/** Series of one method × status combination. */
interface Slot {
  readonly labels: LabelSet;
  readonly duration: HistogramCell;
  /** One counter per outcome (index from `outcomeIndex`), created on first use. */
  readonly totals: (ScalarCell | undefined)[];
}

/** {@link UpstreamMetrics} implementation. Internal: callers get it typed as the interface. */
export class UpstreamRecorder implements UpstreamMetrics {
  readonly upstream: string;
  readonly #families: ProxyFamilies;
  readonly #labels: LabelSet;
  readonly #inFlight: ScalarCell;
  /** Key: `methodIndex * STATUS_LABEL_COUNT + statusIndex`; a small integer, so lookups allocate nothing. */
  readonly #slots = new Map<number, Slot>();
  #ttfb: HistogramCell | undefined;
  /** Reason as given → its series; only well-formed reasons under the cap are cached. */
  readonly #reasons = new Map<string, ScalarCell>();
  #otherReason: ScalarCell | undefined;
  #up: ScalarCell | undefined;
  #transitions: readonly ScalarCell[] | undefined;
  #healthResults: readonly ScalarCell[] | undefined;
  #healthDuration: HistogramCell | undefined;
  #states: readonly ScalarCell[] | undefined;
  #ejections: ScalarCell | undefined;
  #retries: ScalarCell | undefined;
  /** Removes one series each; `detach()` runs them all. */
  readonly #removers: (() => void)[] = [];
  #detached = false;

  constructor(upstream: string, families: ProxyFamilies) {
    this.upstream = upstream;
    this.#families = families;
    this.#labels = { upstream };
    this.#inFlight = this.#series(families.requestsInFlight, this.#labels);
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
    (this.#ttfb ??= this.#series(this.#families.upstreamTtfb, this.#labels)).observe(seconds);
  }

  upstreamError(reason: string): void {
    if (this.#detached) return;
    (this.#reasons.get(reason) ?? this.#reasonSeries(reason)).value++;
  }

  setUp(up: boolean): void {
    if (typeof up !== 'boolean') {
      throw new MetricsError(
        'ERR_METRICS_INVALID_VALUE',
        `Expected \`up\` to be a boolean, got ${describe(up)}`,
      );
    }
    if (this.#detached) return;
    this.#upSeries().value = up ? 1 : 0;
  }

  transition(to: Transition): void {
    const i = transitionIndex(to);
    if (this.#detached) return;
    this.#transitions ??= this.#closedSet(this.#families.upstreamTransitions, 'to', TRANSITIONS);
    (this.#transitions[i] as ScalarCell).value++;
  }

  healthCheck(result: HealthCheckResult, durationSeconds: number): void {
    const i = healthCheckResultIndex(result);
    if (!isSeconds(durationSeconds)) throw invalidSeconds('durationSeconds', durationSeconds);
    if (this.#detached) return;
    const f = this.#families;
    this.#healthResults ??= this.#closedSet(f.healthChecks, 'result', HEALTH_CHECK_RESULTS);
    (this.#healthResults[i] as ScalarCell).value++;
    (this.#healthDuration ??= this.#series(f.healthCheckDuration, this.#labels)).observe(durationSeconds);
  }

  setState(state: UpstreamState): void {
    const current = upstreamStateIndex(state);
    if (this.#detached) return;
    if (this.#states === undefined) {
      this.#states = this.#closedSet(this.#families.upstreamState, 'state', UPSTREAM_STATES);
      this.#ejectionSeries();
      this.#retrySeries();
    }
    const states = this.#states;
    for (let i = 0; i < states.length; i++) (states[i] as ScalarCell).value = i === current ? 1 : 0;
    this.#upSeries().value = current === 0 ? 1 : 0;
  }

  ejected(): void {
    if (this.#detached) return;
    this.#ejectionSeries().value++;
  }

  retried(): void {
    if (this.#detached) return;
    this.#retrySeries().value++;
  }

  /** Removes every series of this upstream and makes the handle ignore further calls. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    for (const remove of this.#removers) remove();
    this.#removers.length = 0;
    this.#slots.clear();
    this.#reasons.clear();
  }

  /** A new series of this upstream in `family`, removed again by `detach()`. */
  #series<C>(family: Family<C>, labels: LabelSet): C {
    const cell = family.add(labels);
    this.#removers.push(() => family.remove(cell));
    return cell;
  }

  /** One series per value of a closed label set, all exported (at 0) from now on. */
  #closedSet(family: Family<ScalarCell>, label: string, values: readonly string[]): ScalarCell[] {
    return values.map((value) => this.#series(family, { upstream: this.upstream, [label]: value }));
  }

  #upSeries(): ScalarCell {
    return (this.#up ??= this.#series(this.#families.upstreamUp, this.#labels));
  }

  #ejectionSeries(): ScalarCell {
    return (this.#ejections ??= this.#series(this.#families.upstreamEjections, this.#labels));
  }

  #retrySeries(): ScalarCell {
    return (this.#retries ??= this.#series(this.#families.retries, this.#labels));
  }

  #newSlot(key: number): Slot {
    const labels: LabelSet = {
      upstream: this.upstream,
      method: METHOD_LABELS[Math.floor(key / STATUS_LABEL_COUNT)] as string,
      code: statusLabelAt(key % STATUS_LABEL_COUNT),
    };
    const slot: Slot = {
      labels,
      duration: this.#series(this.#families.requestDuration, labels),
      totals: new Array<ScalarCell | undefined>(OUTCOMES.length).fill(undefined),
    };
    this.#slots.set(key, slot);
    return slot;
  }

  #newTotal(slot: Slot, outcome: number): ScalarCell {
    const labels = { ...slot.labels, outcome: OUTCOMES[outcome] as string };
    const cell = this.#series(this.#families.requestsTotal, labels);
    slot.totals[outcome] = cell;
    return cell;
  }

  #reasonSeries(reason: string): ScalarCell {
    const normalized = normalizeReason(reason);
    const upstreamErrors = this.#families.upstreamErrors;
    if (normalized === 'OTHER' || this.#reasons.size >= MAX_REASONS_PER_UPSTREAM) {
      return (this.#otherReason ??= this.#series(upstreamErrors, {
        upstream: this.upstream,
        reason: 'OTHER',
      }));
    }
    const cell = this.#series(upstreamErrors, { upstream: this.upstream, reason: normalized });
    this.#reasons.set(reason, cell);
    return cell;
  }
}
