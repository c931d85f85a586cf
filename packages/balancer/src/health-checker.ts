import { EventEmitter } from 'node:events';
import type { Balancer } from './balancer.js';
import { MAX_TIMER_MS } from '@roundguard/internal';
import { option } from './errors.js';
import type { Unsubscribe } from './listeners.js';
import { errorText, normalizeProbeResult, type Probe, type ProbeOutcome, type ProbeResult } from './probe.js';
import type { Target } from './target.js';

/** Options of {@link HealthChecker}. */
export interface HealthCheckerOptions<T extends Target> {
  /**
   * The balancer whose targets are probed and whose health is changed. The checker follows its
   * `setTargets` calls: new targets get probed, removed ones stop being probed.
   *
   * @example
   * new HealthChecker({ balancer, probe: httpProbe() });
   */
  readonly balancer: Balancer<T>;
  /**
   * Checks one target; see {@link Probe}. {@link httpProbe} is a ready one for HTTP targets.
   *
   * @example
   * probe: httpProbe({ path: '/health' })
   */
  readonly probe: Probe<T>;
  /**
   * Time between the starts of two probes of one target, in milliseconds. A probe that takes longer than
   * this is not overlapped: the next one starts as soon as it has settled.
   *
   * @default 2000
   * @example
   * intervalMs: 5_000
   */
  readonly intervalMs?: number;
  /**
   * Time a probe may take, in milliseconds. Past it, the probe counts as a failure with result
   * `'timeout'` at once, and its `AbortSignal` is aborted with a `TimeoutError` `DOMException`.
   *
   * @default 1000
   * @example
   * timeoutMs: 500
   */
  readonly timeoutMs?: number;
  /**
   * Failed probes in a row that take a healthy target out of rotation.
   *
   * @default 1
   * @example
   * fall: 3 // like HAProxy's `fall 3`
   */
  readonly fall?: number;
  /**
   * Successful probes in a row that put a down target back in rotation.
   *
   * @default 1
   * @example
   * rise: 2 // like HAProxy's `rise 2`
   */
  readonly rise?: number;
  /**
   * The first probe of each target (at `start()`, or when `setTargets` adds it) is delayed by a random
   * time from 0 to just under `jitterMs` milliseconds, so that many targets are not all probed in the
   * same millisecond, and stay spread afterwards. `0` probes every target at once.
   *
   * @default intervalMs
   * @example
   * jitterMs: 100
   */
  readonly jitterMs?: number;
  /**
   * Whether the checker's timers are `unref()`'d, so that they alone do not keep the process alive. The
   * checker only feeds a balancer, which is useful while something else (a server) runs; when that stops,
   * the process can exit even if `stop()` was never called. Set `false` to keep the process alive for the
   * checker alone. A probe in flight keeps whatever handles it opened (e.g. a socket) either way.
   *
   * @default true
   * @example
   * unref: false
   */
  readonly unref?: boolean;
}

/** Payload of the {@link HealthChecker} `probe` event: one probe's outcome. */
export interface ProbeEvent<T extends Target> {
  readonly key: string;
  readonly target: T;
  /** `'ok'`, or why it failed: `'bad_status'`, `'error'` or `'timeout'`. */
  readonly result: ProbeOutcome;
  /** The failure's description (`'HTTP 500'`, `'ECONNREFUSED'`, ...); `undefined` when `result` is `'ok'`. */
  readonly error: string | undefined;
  /** Time from the probe's start to its outcome, in milliseconds. */
  readonly durationMs: number;
  /** When the probe started, in milliseconds since the epoch. */
  readonly at: number;
}

/** Payload of the {@link HealthChecker} `down` event: a probe took a target out of rotation. */
export interface DownEvent<T extends Target> {
  readonly key: string;
  readonly target: T;
  /** The last failed probe's error (`'HTTP 500'`, `'ECONNREFUSED'`, `'timeout after 1000 ms'`, ...). */
  readonly reason: string;
  /** The failure kind of that probe. */
  readonly result: Exclude<ProbeOutcome, 'ok'>;
}

/** Payload of the {@link HealthChecker} `up` event: a probe put a target back in rotation. */
export interface UpEvent<T extends Target> {
  readonly key: string;
  readonly target: T;
}

/** The events of a {@link HealthChecker}, for its typed `on`/`once`/`off`. */
export interface HealthCheckerEvents<T extends Target> {
  /** Every probe outcome, before any change of health it causes. */
  probe: [event: ProbeEvent<T>];
  /** A probe outcome took a target out of rotation (`fall` failures in a row). */
  down: [event: DownEvent<T>];
  /** A probe outcome put a target back in rotation (`rise` successes in a row). */
  up: [event: UpEvent<T>];
}

interface Slot {
  readonly key: string;
  /** Pending start of the next probe. */
  timer: NodeJS.Timeout | undefined;
  /** The probe in flight, settled when the probe function has settled. */
  inFlight: Promise<void> | undefined;
  /** Aborts the probe in flight and drops its outcome. */
  cancel: (() => void) | undefined;
  /** Set when the target was removed or the checker stopped: nothing of this slot counts any more. */
  retired: boolean;
}

/**
 * Probes every target of a {@link Balancer} and takes targets out of rotation, or puts them back, as the
 * outcomes cross the `fall`/`rise` thresholds (by default one failure removes, one success restores).
 *
 * Each target is probed every `intervalMs`, each probe bounded by `timeoutMs` through its `AbortSignal`.
 * Probes of one target never overlap. `stop()` aborts the probes in flight, waits for them to settle and
 * clears every timer. Events: `probe`, `down`, `up` (see {@link HealthCheckerEvents}); a listener that
 * throws does not break the checker (its error is rethrown asynchronously). No `error` event is emitted.
 *
 * @example
 * const checker = new HealthChecker({ balancer, probe: httpProbe({ path: '/health' }), intervalMs: 2000, timeoutMs: 1000 });
 * checker.on('down', ({ key, reason }) => console.warn(`${key} down: ${reason}`));
 * checker.on('up', ({ key }) => console.info(`${key} up`));
 * checker.start();
 * // ...
 * await checker.stop();
 */
export class HealthChecker<T extends Target> extends EventEmitter<HealthCheckerEvents<T>> {
  readonly #balancer: Balancer<T>;
  readonly #probe: Probe<T>;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #fall: number;
  readonly #rise: number;
  readonly #jitterMs: number;
  readonly #unref: boolean;
  #running = false;
  #unsubscribe: Unsubscribe | undefined;
  /** One slot per target key while running. */
  #slots = new Map<string, Slot>();
  /** Every probe in flight, retired or not: `stop()` waits for all of them. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Probes still in flight for a key whose slot was retired: a new slot for that key waits for them. */
  readonly #draining = new Map<string, Promise<void>>();

  /**
   * @param options see {@link HealthCheckerOptions}.
   * @throws {BalancerError} `ERR_BALANCER_INVALID_OPTION`, naming the option and the value received.
   */
  constructor(options: HealthCheckerOptions<T>) {
    super();
    if (options === undefined) option.invalid('options', 'an object with `balancer` and `probe`', options);
    const o = option.object(options, 'options');
    const balancer = o.balancer as Balancer<T> | undefined;
    if (
      balancer === null ||
      typeof balancer !== 'object' ||
      typeof balancer.targets !== 'function' ||
      typeof balancer.onTargetsChange !== 'function' ||
      typeof balancer.recordProbe !== 'function' ||
      typeof balancer.get !== 'function'
    ) {
      option.invalid('balancer', 'a Balancer', balancer);
    }
    if (typeof o.probe !== 'function')
      option.invalid('probe', 'a function `(target, signal) => Promise<ProbeResult>`', o.probe);
    const intervalMs = option.milliseconds('intervalMs', o.intervalMs ?? 2000, 1, MAX_TIMER_MS);
    const timeoutMs = option.milliseconds('timeoutMs', o.timeoutMs ?? 1000, 1, MAX_TIMER_MS);
    const fall = option.integer('fall', o.fall ?? 1, 1);
    const rise = option.integer('rise', o.rise ?? 1, 1);
    const jitterMs = option.milliseconds('jitterMs', o.jitterMs ?? intervalMs, 0, MAX_TIMER_MS);
    const unref = option.boolean('unref', o.unref ?? true);
    this.#balancer = balancer;
    this.#probe = o.probe as Probe<T>;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    this.#fall = fall;
    this.#rise = rise;
    this.#jitterMs = jitterMs;
    this.#unref = unref;
  }

  /** Whether `start()` was called and `stop()` was not called since. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts probing every target of the balancer, each first probe delayed by a random jitter, and follows
   * the balancer's `setTargets` calls. Does nothing when already running. May be called again after
   * `stop()`.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#balancer.onTargetsChange((targets) => this.#syncTargets(targets));
    this.#syncTargets(this.#balancer.targets());
  }

  /**
   * Stops probing: clears every timer, aborts the probes in flight (their outcomes are dropped: no event,
   * no change of health) and resolves once they have all settled. Nothing of the checker is left to keep
   * the process alive. Safe to call more than once, or when not running.
   */
  async stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
      for (const slot of this.#slots.values()) this.#retire(slot);
      this.#slots.clear();
    }
    // Every probe in flight now belongs to a retired slot: none of them schedules another probe.
    await Promise.all([...this.#inFlight]);
  }

  #syncTargets(targets: readonly T[]): void {
    if (!this.#running) return;
    const keys = new Set<string>();
    for (const target of targets) {
      keys.add(target.key);
      if (!this.#slots.has(target.key)) {
        const slot: Slot = {
          key: target.key,
          timer: undefined,
          inFlight: undefined,
          cancel: undefined,
          retired: false,
        };
        this.#slots.set(target.key, slot);
        this.#schedule(slot, this.#jitterMs === 0 ? 0 : Math.floor(Math.random() * this.#jitterMs));
      }
    }
    for (const [key, slot] of this.#slots) {
      if (!keys.has(key)) {
        this.#retire(slot);
        this.#slots.delete(key);
      }
    }
  }

  #retire(slot: Slot): void {
    slot.retired = true;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const inFlight = slot.inFlight;
    if (inFlight !== undefined) {
      this.#draining.set(slot.key, inFlight);
      void inFlight.then(() => {
        if (this.#draining.get(slot.key) === inFlight) this.#draining.delete(slot.key);
      });
    }
    slot.cancel?.();
  }

  #schedule(slot: Slot, delay: number): void {
    const timer = setTimeout(() => this.#fire(slot), delay);
    if (this.#unref) timer.unref();
    slot.timer = timer;
  }

  #fire(slot: Slot): void {
    slot.timer = undefined;
    if (slot.retired) return;
    const previous = this.#draining.get(slot.key);
    if (previous !== undefined) {
      // A probe of a target removed and added back under the same key is still settling: no overlap.
      void previous.then(() => this.#fire(slot));
      return;
    }
    const target = this.#balancer.get(slot.key);
    if (target === undefined) return;
    this.#run(slot, target);
  }

  #run(slot: Slot, target: T): void {
    const controller = new AbortController();
    const at = Date.now();
    const started = performance.now();
    const timeoutMs = this.#timeoutMs;
    let decided = false;
    const decide = (result: ProbeResult | undefined): void => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      if (result !== undefined) this.#apply(slot, target, result, at, performance.now() - started);
    };
    const timer = setTimeout(() => {
      decide({ ok: false, result: 'timeout', error: `timeout after ${timeoutMs} ms` });
      controller.abort(new DOMException(`Health probe timed out after ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    if (this.#unref) timer.unref();
    slot.cancel = () => {
      decide(undefined);
      controller.abort(new DOMException('Health checker stopped probing this target', 'AbortError'));
    };

    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(this.#probe(target, controller.signal));
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(errorText(err)));
    }
    const inFlight = pending.then(
      (value) => decide(normalizeProbeResult(value)),
      (err: unknown) => decide({ ok: false, result: 'error', error: errorText(err) }),
    );
    slot.inFlight = inFlight;
    this.#inFlight.add(inFlight);
    void inFlight.then(() => {
      this.#inFlight.delete(inFlight);
      slot.inFlight = undefined;
      slot.cancel = undefined;
      if (slot.retired || !this.#running) return;
      // Next start: intervalMs after this one started, or right now when this probe took longer.
      this.#schedule(
        slot,
        Math.max(0, Math.min(MAX_TIMER_MS, started + this.#intervalMs - performance.now())),
      );
    });
  }

  #apply(slot: Slot, target: T, result: ProbeResult, at: number, durationMs: number): void {
    if (slot.retired || !this.#running) return;
    const key = slot.key;
    const balancer = this.#balancer;
    const status = balancer.recordProbe(key, result, at);
    if (status === undefined) return;
    this.#emit('probe', {
      key,
      target,
      result: result.ok ? 'ok' : result.result,
      error: result.ok ? undefined : result.error,
      durationMs,
      at,
    });
    if (slot.retired || !this.#running) return; // a `probe` listener stopped the checker or removed the target
    if (result.ok) {
      if (!status.healthy && status.consecutiveSuccesses >= this.#rise && balancer.markUp(key)) {
        this.#emit('up', { key, target });
      }
    } else if (
      status.healthy &&
      status.consecutiveFailures >= this.#fall &&
      balancer.markDown(key, result.error)
    ) {
      this.#emit('down', { key, target, reason: result.error, result: result.result });
    }
  }

  #emit<K extends keyof HealthCheckerEvents<T>>(name: K, ...args: HealthCheckerEvents<T>[K]): void {
    try {
      (this.emit as (name: K, ...args: HealthCheckerEvents<T>[K]) => boolean)(name, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
