import { RoundRobin, WeightedRoundRobin } from '@roundguard/roundrobin';
import { describe, expected, isItemIterable } from '@roundguard/internal';
import { BalancerError, option } from './errors.js';
import { Listeners, type Unsubscribe } from './listeners.js';
import type { ProbeResult } from './probe.js';
import { targetWeight, type Target, type TargetStatus } from './target.js';

/** Health given to targets that a `Balancer` sees for the first time. */
export type InitialHealth = 'up' | 'down';

/** Options of {@link Balancer}. */
export interface BalancerOptions {
  /**
   * Health of targets when they are first seen (by the constructor or by `setTargets`): `'up'` puts them
   * in rotation at once, `'down'` keeps them out until `markUp` (e.g. a first good probe). Targets that stay
   * across `setTargets` keep their health.
   *
   * @default 'up'
   * @example
   * new Balancer(targets, { initialHealth: 'down' }); // nothing is picked before the first good probe
   */
  readonly initialHealth?: InitialHealth;
}

/**
 * Called synchronously after a target's health changed (through `markDown` or `markUp`, whoever called
 * them). `reason` is the `markDown` reason, `undefined` when the target came up.
 */
export type HealthChangeListener<T extends Target> = (
  key: string,
  healthy: boolean,
  reason: string | undefined,
  target: T,
) => void;

/** Called synchronously after `setTargets` replaced the set, with the new set. */
export type TargetsChangeListener<T extends Target> = (targets: readonly T[]) => void;

interface TargetRecord<T> {
  target: T;
  weight: number;
  healthy: boolean;
  since: number;
  lastProbeAt: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Health-aware round robin over a set of targets.
 *
 * `pick()` hands out the healthy targets in round-robin order, or in nginx's smooth weighted order when
 * their weights differ; it never returns a target known to be down. A change of health (`markDown`,
 * `markUp`) or of the set (`setTargets`) rebuilds the rotation once, off the hot path, so `pick()` is one
 * O(1), allocation-free call into the rotation however many targets are down. The rotation goes on where
 * it was across changes: a target that goes down is skipped, the others keep their turn.
 *
 * Health is changed by whoever knows: a {@link HealthChecker} probing the targets, and the application
 * itself (e.g. `markDown` on a connection refused while forwarding). `onChange` reports every change.
 *
 * @example
 * const balancer = new Balancer([{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
 * balancer.pick(); // { key: 'a' }
 * balancer.markDown('b', 'ECONNREFUSED');
 * balancer.pick(); // { key: 'c' }
 * balancer.pick(); // { key: 'a' }
 */
export class Balancer<T extends Target> {
  #rotation: RoundRobin<T> | WeightedRoundRobin<T>;
  #weighted: boolean;
  readonly #initialHealth: InitialHealth;
  #records = new Map<string, TargetRecord<T>>();
  #targets: readonly T[] = EMPTY;
  #healthyCount = 0;
  readonly #changeListeners = new Listeners<Parameters<HealthChangeListener<T>>>();
  readonly #targetsListeners = new Listeners<[targets: readonly T[]]>();

  /**
   * @param targets the initial set, in rotation order (copied).
   * @param options see {@link BalancerOptions}.
   * @throws {BalancerError} `ERR_BALANCER_INVALID_TARGETS`, `ERR_BALANCER_INVALID_TARGET`,
   * `ERR_BALANCER_DUPLICATE_KEY` or `ERR_BALANCER_INVALID_OPTION`.
   */
  constructor(targets: Iterable<T> = EMPTY, options?: BalancerOptions) {
    const { initialHealth = 'up' } = option.object(options, 'options');
    if (initialHealth !== 'up' && initialHealth !== 'down') {
      option.invalid('initialHealth', "`'up'` or `'down'`", initialHealth);
    }
    this.#initialHealth = initialHealth;
    const { list, weights, weighted } = validateTargets(targets);
    this.#weighted = weighted;
    this.#rotation = weighted ? new WeightedRoundRobin<T>() : new RoundRobin<T>();
    this.#install(list, weights);
  }

  /**
   * The next healthy target in (weighted) round-robin order, or `undefined` when none is healthy.
   * O(1), allocates nothing.
   */
  pick(): T | undefined {
    return this.#rotation.next();
  }

  /**
   * Takes a target out of rotation at once, and records `reason` as its last error.
   *
   * @param key the target's key; an unknown key is ignored.
   * @param reason why, for logs and `status()` (e.g. `'ECONNREFUSED'`, `'HTTP 500'`).
   * @returns `true` when the target was healthy (its health changed and listeners were told), else `false`.
   */
  markDown(key: string, reason: string): boolean {
    const record = this.#records.get(key);
    if (record === undefined) return false;
    const why = typeof reason === 'string' ? reason : String(reason);
    record.lastError = why;
    if (!record.healthy) return false;
    record.healthy = false;
    record.since = Date.now();
    record.consecutiveSuccesses = 0;
    this.#rebuild();
    this.#changeListeners.emit(key, false, why, record.target);
    return true;
  }

  /**
   * Puts a target back in rotation at once.
   *
   * @param key the target's key; an unknown key is ignored.
   * @returns `true` when the target was down (its health changed and listeners were told), else `false`.
   */
  markUp(key: string): boolean {
    const record = this.#records.get(key);
    if (record === undefined || record.healthy) return false;
    record.healthy = true;
    record.since = Date.now();
    record.consecutiveFailures = 0;
    this.#rebuild();
    this.#changeListeners.emit(key, true, undefined, record.target);
    return true;
  }

  /**
   * Replaces the set of targets. Targets whose key was already there keep their health and probe history
   * (the new object, and its weight, replace the old one); new keys start with `initialHealth`; keys no
   * longer there are forgotten. The whole set is validated first: on a bad target this throws and
   * nothing changes.
   *
   * @throws {BalancerError} `ERR_BALANCER_INVALID_TARGETS`, `ERR_BALANCER_INVALID_TARGET` or
   * `ERR_BALANCER_DUPLICATE_KEY`.
   */
  setTargets(targets: Iterable<T>): void {
    const { list, weights, weighted } = validateTargets(targets);
    if (weighted !== this.#weighted) {
      this.#weighted = weighted;
      this.#rotation = weighted ? new WeightedRoundRobin<T>() : new RoundRobin<T>();
    }
    this.#install(list, weights);
    this.#targetsListeners.emit(this.#targets);
  }

  /**
   * Records the outcome of a health probe, for `status()`: updates `lastProbeAt`, `lastError` and the
   * consecutive counters. It does not change health by itself: a {@link HealthChecker} compares the
   * counters with its thresholds and calls `markDown`/`markUp`. Use it when running probes of your own.
   *
   * @param key the target's key.
   * @param result the probe's outcome.
   * @param at when the probe started, in milliseconds since the epoch (`Date.now()` when not given).
   * @returns the target's status after the update, or `undefined` when the key is unknown (e.g. the target
   * was removed while it was being probed).
   */
  recordProbe(key: string, result: ProbeResult, at: number = Date.now()): TargetStatus | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    record.lastProbeAt = at;
    if (result.ok) {
      record.consecutiveSuccesses++;
      record.consecutiveFailures = 0;
      record.lastError = null;
    } else {
      record.consecutiveFailures++;
      record.consecutiveSuccesses = 0;
      record.lastError = result.error;
    }
    return toStatus(key, record);
  }

  /** Whether the target is healthy; `false` for an unknown key. */
  isHealthy(key: string): boolean {
    return this.#records.get(key)?.healthy === true;
  }

  /** Whether a target with this key is in the set. */
  has(key: string): boolean {
    return this.#records.has(key);
  }

  /** The target with this key, or `undefined`. */
  get(key: string): T | undefined {
    return this.#records.get(key)?.target;
  }

  /** Every target of the set, healthy or not, in the order given, as a frozen array (no copy is made). */
  targets(): readonly T[] {
    return this.#targets;
  }

  /** Number of targets in the set, healthy or not. */
  get size(): number {
    return this.#targets.length;
  }

  /** Number of targets `pick()` can return: healthy, with a weight above 0. */
  get healthyCount(): number {
    return this.#healthyCount;
  }

  /** A snapshot of every target's health, in target order (new plain objects, safe to serialize). */
  status(): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const [key, record] of this.#records) out.push(toStatus(key, record));
    return out;
  }

  /**
   * Subscribes to health changes caused by `markDown`/`markUp` (from a health checker or from the
   * application). Listeners run synchronously, after the rotation was rebuilt. A listener that throws does
   * not stop the others: its error is rethrown asynchronously (it surfaces as an uncaught exception, as
   * with `EventTarget`).
   *
   * @returns a function that removes this listener.
   * @example
   * balancer.onChange((key, healthy, reason) => log.warn({ key, healthy, reason }, 'upstream health'));
   */
  onChange(listener: HealthChangeListener<T>): Unsubscribe {
    return this.#changeListeners.add(listener);
  }

  /**
   * Subscribes to `setTargets` calls (a {@link HealthChecker} uses it to probe new targets and drop
   * removed ones). Same calling rules as {@link Balancer.onChange}.
   *
   * @returns a function that removes this listener.
   */
  onTargetsChange(listener: TargetsChangeListener<T>): Unsubscribe {
    return this.#targetsListeners.add(listener);
  }

  #install(list: readonly T[], weights: readonly number[]): void {
    const previous = this.#records;
    const records = new Map<string, TargetRecord<T>>();
    const now = Date.now();
    for (let i = 0; i < list.length; i++) {
      const target = list[i] as T;
      const weight = weights[i] as number;
      const old = previous.get(target.key);
      if (old !== undefined) {
        old.target = target;
        old.weight = weight;
        records.set(target.key, old);
      } else {
        records.set(target.key, {
          target,
          weight,
          healthy: this.#initialHealth === 'up',
          since: now,
          lastProbeAt: null,
          lastError: null,
          consecutiveFailures: 0,
          consecutiveSuccesses: 0,
        });
      }
    }
    this.#records = records;
    this.#targets = list;
    this.#rebuild();
  }

  /** Rebuilds the rotation from the healthy targets of weight above 0 (one `replace()` call). */
  #rebuild(): void {
    const rotation = this.#rotation;
    let count = 0;
    if (this.#weighted) {
      const entries: { item: T; weight: number }[] = [];
      for (const record of this.#records.values()) {
        if (record.healthy && record.weight > 0) entries.push({ item: record.target, weight: record.weight });
      }
      (rotation as WeightedRoundRobin<T>).replace(entries);
      count = entries.length;
    } else {
      const items: T[] = [];
      for (const record of this.#records.values()) {
        if (record.healthy && record.weight > 0) items.push(record.target);
      }
      (rotation as RoundRobin<T>).replace(items);
      count = items.length;
    }
    this.#healthyCount = count;
  }
}

function toStatus<T>(key: string, record: TargetRecord<T>): TargetStatus {
  return {
    key,
    healthy: record.healthy,
    since: record.since,
    lastProbeAt: record.lastProbeAt,
    lastError: record.lastError,
    consecutiveFailures: record.consecutiveFailures,
    consecutiveSuccesses: record.consecutiveSuccesses,
    weight: record.weight,
  };
}

/**
 * Validates a set of targets. Weighted rotation is needed only when the targets that can be picked
 * (weight above 0) do not all have the same weight: equal weights give plain round robin.
 */
function validateTargets<T extends Target>(
  targets: Iterable<T>,
): { list: readonly T[]; weights: readonly number[]; weighted: boolean } {
  if (!isItemIterable(targets)) {
    throw new BalancerError(
      'ERR_BALANCER_INVALID_TARGETS',
      expected('`targets`', 'an iterable of targets (an array, a Set, ...)', targets),
    );
  }
  const list = Object.freeze(Array.from(targets));
  const weights: number[] = [];
  const seen = new Set<string>();
  let first = 0;
  let weighted = false;
  for (let i = 0; i < list.length; i++) {
    const weight = targetWeight(list[i], i);
    const key = (list[i] as T).key;
    if (seen.has(key)) {
      throw new BalancerError(
        'ERR_BALANCER_DUPLICATE_KEY',
        `Expected unique target keys, got ${describe(key)} twice`,
      );
    }
    seen.add(key);
    weights.push(weight);
    if (weight > 0) {
      if (first === 0) first = weight;
      else if (weight !== first) weighted = true;
    }
  }
  return { list, weights, weighted };
}
