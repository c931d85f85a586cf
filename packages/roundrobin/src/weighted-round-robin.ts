import { expected, isIntegerInRange } from '@roundguard/internal';
import { RoundRobinError } from './errors.js';
import { gcdOf, smoothWeightedSchedule, smoothWeightedStep } from './smooth-weighted.js';
import { snapshot } from './snapshot.js';

/** An item and its weight, as given to {@link WeightedRoundRobin}. */
export interface WeightedEntry<T> {
  /** The value `next()` hands out. */
  readonly item: T;
  /**
   * A non-negative integer share, up to {@link MAX_WEIGHT}. An entry of weight 4 is picked four times as
   * often as one of weight 1; weight 0 keeps the entry out of rotation.
   *
   * @default 1
   */
  readonly weight?: number;
}

/** An entry as {@link WeightedRoundRobin.entries} hands it back: its weight filled in (1 when it was omitted). */
export interface ResolvedWeightedEntry<T> extends WeightedEntry<T> {
  readonly weight: number;
}

/** The largest accepted weight (weights are integers from 0 to this). */
export const MAX_WEIGHT = 1_000_000;

/**
 * Above this cycle length (picks), or this much work to compute it (cycle length times entry count),
 * the cycle is not precomputed and `next()` runs nginx's step directly, in O(entries).
 */
const MAX_CYCLE = 1 << 16;
const MAX_SCHEDULE_WORK = 1 << 24;

interface LiveState {
  readonly weights: Float64Array;
  readonly current: Float64Array;
  readonly total: number;
}

const EMPTY_ITEMS: readonly never[] = Object.freeze([]);

/**
 * Smooth weighted round robin, exactly as nginx's upstream module does it: weights `{a: 5, b: 1, c: 1}`
 * give `a a b a c a a`, spreading the heavy item out instead of sending it five requests in a row.
 *
 * When the set changes, the whole cycle (`sum(weights) / gcd(weights)` picks) is computed once, so
 * `next()` is O(1) and allocates nothing, whatever the number of items. Very long cycles (over 65,536
 * picks, or over 2^24 steps of work to compute) fall back to running nginx's step on each pick, in
 * O(items).
 *
 * @example
 * const wrr = new WeightedRoundRobin([
 *   { item: 'a', weight: 5 },
 *   { item: 'b', weight: 1 },
 *   { item: 'c', weight: 1 },
 * ]);
 * Array.from({ length: 7 }, () => wrr.next()).join(' '); // 'a a b a c a a'
 */
export class WeightedRoundRobin<T> {
  // Hot-path state in plain (TypeScript-private) properties: see the note in round-robin.ts.
  #entries: readonly ResolvedWeightedEntry<T>[] = EMPTY_ITEMS;
  #items: readonly T[] = EMPTY_ITEMS;
  /** The item of each pick of the cycle, precomputed (empty in live mode or when nothing has weight). */
  private _cycle: T[] = [];
  private _cursor = 0;
  /** Live mode: weights, current weights and total, used when the cycle is too long to precompute. */
  #live: LiveState | undefined;

  /**
   * @param entries the initial `{ item, weight? }` entries, in tie-breaking order (`weight` defaults to 1). Copied.
   * @default []
   * @throws {RoundRobinError} `ERR_RR_INVALID_ITEMS`, `ERR_RR_INVALID_ENTRY` or `ERR_RR_INVALID_WEIGHT`.
   */
  constructor(entries?: Iterable<WeightedEntry<T>>) {
    if (entries !== undefined) this.replace(entries);
  }

  /** The next item in smooth weighted order, or `undefined` when no entry has a weight above 0. */
  next(): T | undefined {
    const cycle = this._cycle;
    let i = this._cursor;
    if (i >= cycle.length) {
      if (cycle.length === 0) return this.#live === undefined ? undefined : this.#nextLive();
      i = 0;
    }
    this._cursor = i + 1;
    return cycle[i];
  }

  #nextLive(): T | undefined {
    const live = this.#live as LiveState;
    const winner = smoothWeightedStep(live.weights, live.current, live.total);
    return (this.#entries[winner] as ResolvedWeightedEntry<T>).item;
  }

  /**
   * Replaces all entries at once. The entries are validated first: on a bad entry this throws and the
   * rotation is left as it was.
   *
   * Rotation continues at the same relative position in the new cycle rather than restarting at its
   * first pick (which would hand the heaviest item an extra share on every change). In live mode, the
   * current weights of items that stay (matched by identity) are kept.
   *
   * @throws {RoundRobinError} `ERR_RR_INVALID_ITEMS`, `ERR_RR_INVALID_ENTRY` or `ERR_RR_INVALID_WEIGHT`.
   */
  replace(entries: Iterable<WeightedEntry<T>>): void {
    const next = validateEntries(snapshot(entries, 'entries'));
    const weights = next.map((e) => e.weight);
    const g = gcdOf(weights);
    let total = 0;
    for (const w of weights) total += w;
    const cycle = g === 0 ? 0 : total / g;

    const previousLength = this._cycle.length;
    const previousCursor = this._cursor;
    const previousLive = this.#live;
    const previousEntries = this.#entries;

    if (cycle > MAX_CYCLE || cycle * next.length > MAX_SCHEDULE_WORK) {
      const current = new Float64Array(next.length);
      if (previousLive !== undefined) {
        const old = new Map<T, number>();
        previousEntries.forEach((e, i) => old.set(e.item, previousLive.current[i] as number));
        next.forEach((e, i) => (current[i] = e.weight === 0 ? 0 : (old.get(e.item) ?? 0)));
      }
      this.#live = { weights: Float64Array.from(weights), current, total };
      this._cycle = [];
      this._cursor = 0;
    } else {
      const schedule = smoothWeightedSchedule(weights);
      this.#live = undefined;
      this._cycle = Array.from(schedule, (index) => (next[index] as ResolvedWeightedEntry<T>).item);
      this._cursor =
        previousLength === 0 || schedule.length === 0
          ? 0
          : Math.floor(((previousCursor % previousLength) * schedule.length) / previousLength);
    }
    this.#entries = next;
    this.#items = Object.freeze(next.filter((e) => e.weight > 0).map((e) => e.item));
  }

  /** Number of items in rotation (entries with a weight above 0). */
  get size(): number {
    return this.#items.length;
  }

  /** The items in rotation (weight above 0), in entry order, as a frozen array (no copy is made). */
  items(): readonly T[] {
    return this.#items;
  }

  /**
   * Every entry given to the last `replace` (or the constructor), weight-0 entries included, each with its
   * weight (1 where it was omitted). Frozen.
   */
  entries(): readonly ResolvedWeightedEntry<T>[] {
    return this.#entries;
  }
}

function validateEntries<T>(entries: readonly WeightedEntry<T>[]): readonly ResolvedWeightedEntry<T>[] {
  const copies: ResolvedWeightedEntry<T>[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as unknown;
    if (entry === null || typeof entry !== 'object' || !('item' in entry)) {
      throw new RoundRobinError(
        'ERR_RR_INVALID_ENTRY',
        expected(`entry ${i}`, 'an object with an `item` (and an optional `weight`)', entry),
      );
    }
    const { item, weight = 1 } = entry as WeightedEntry<T>;
    if (!isIntegerInRange(weight, 0, MAX_WEIGHT)) {
      throw new RoundRobinError(
        'ERR_RR_INVALID_WEIGHT',
        expected(`\`weight\` of entry ${i}`, `an integer from 0 to ${MAX_WEIGHT}`, weight),
      );
    }
    copies.push(Object.freeze({ item, weight }));
  }
  return Object.freeze(copies);
}
