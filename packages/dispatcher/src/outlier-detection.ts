import type { OutlierSettings } from './options.js';

/** What outlier detection keeps on each upstream. */
export interface OutlierSubject {
  /** Failed exchanges in a row (kept whether or not detection is on, for `status()`). */
  consecutiveFailures: number;
  /** Whether it is ejected now. */
  ejected: boolean;
  /** End of the current ejection, in milliseconds since the epoch; `null` when not ejected. */
  ejectedUntil: number | null;
  /** Ejections so far, less one for each `maxEjectionMs` spent back in rotation. */
  ejections: number;
  /** When the last ejection ended, in milliseconds since the epoch; `null` before the first. */
  restoredAt: number | null;
  /** The timer that ends the current ejection. */
  ejectionTimer: NodeJS.Timeout | undefined;
}

/** What outlier detection tells its owner. */
export interface OutlierHooks<S> {
  /** Number of upstreams the ejection share is taken of. */
  population(): number;
  /** `subject` was just ejected (its fields are set). */
  ejected(subject: S, reason: string, durationMs: number): void;
  /** `subject`'s ejection just ended (its fields are reset). */
  restored(subject: S): void;
}

/**
 * Outlier detection: `consecutiveFailures` failed exchanges in a row eject an upstream for
 * `baseEjectionMs` x its ejection count, at most `maxEjectionMs`, while at most `maxEjectionPercent` of
 * the upstreams (and always at least one) are ejected at once. An upstream that reached the threshold
 * while the share was full is ejected at its next failure if there is room then.
 *
 * The ejection count goes back down by one for each `maxEjectionMs` an upstream spends back in rotation,
 * computed when it is ejected again (no timer runs for it).
 */
export class OutlierDetector<S extends OutlierSubject> {
  readonly #settings: OutlierSettings;
  readonly #hooks: OutlierHooks<S>;
  readonly #ejected = new Set<S>();

  constructor(settings: OutlierSettings, hooks: OutlierHooks<S>) {
    this.#settings = settings;
    this.#hooks = hooks;
  }

  /** Number of upstreams ejected now. */
  get ejectedCount(): number {
    return this.#ejected.size;
  }

  /** Most upstreams that may be ejected at once, for the current population (at least 1). */
  maxEjected(): number {
    return Math.max(1, Math.floor((this.#hooks.population() * this.#settings.maxEjectionPercent) / 100));
  }

  /** A successful exchange: the failure count starts again. */
  success(subject: S): void {
    subject.consecutiveFailures = 0;
  }

  /**
   * A failed exchange; `reason` describes it (`'HTTP 503'`, `'ECONNRESET'`).
   *
   * @returns whether it ejected the upstream.
   */
  failure(subject: S, reason: string): boolean {
    const failures = ++subject.consecutiveFailures;
    if (subject.ejected || failures < this.#settings.consecutiveFailures) return false;
    if (this.#ejected.size >= this.maxEjected()) return false;
    this.#eject(subject, `${failures} failures in a row, the last: ${reason}`);
    return true;
  }

  /** Forgets an upstream that leaves the set: its ejection timer is cleared. */
  forget(subject: S): void {
    if (subject.ejectionTimer !== undefined) clearTimeout(subject.ejectionTimer);
    subject.ejectionTimer = undefined;
    this.#ejected.delete(subject);
  }

  /** Clears every timer (the dispatcher is closing). */
  stop(): void {
    for (const subject of this.#ejected) {
      if (subject.ejectionTimer !== undefined) clearTimeout(subject.ejectionTimer);
      subject.ejectionTimer = undefined;
    }
    this.#ejected.clear();
  }

  #eject(subject: S, reason: string): void {
    const { baseEjectionMs, maxEjectionMs } = this.#settings;
    const now = Date.now();
    if (subject.restoredAt !== null) {
      const forgiven = Math.floor((now - subject.restoredAt) / maxEjectionMs);
      subject.ejections = Math.max(0, subject.ejections - forgiven);
    }
    subject.ejections++;
    const durationMs = Math.min(baseEjectionMs * subject.ejections, maxEjectionMs);
    subject.ejected = true;
    subject.ejectedUntil = now + durationMs;
    subject.consecutiveFailures = 0;
    this.#ejected.add(subject);
    const timer = setTimeout(() => this.#restore(subject), durationMs);
    timer.unref();
    subject.ejectionTimer = timer;
    this.#hooks.ejected(subject, reason, durationMs);
  }

  #restore(subject: S): void {
    subject.ejectionTimer = undefined;
    if (!this.#ejected.delete(subject)) return;
    subject.ejected = false;
    subject.ejectedUntil = null;
    subject.restoredAt = Date.now();
    subject.consecutiveFailures = 0;
    this.#hooks.restored(subject);
  }
}
