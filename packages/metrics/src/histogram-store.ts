// The one place that knows how prom-client stores a histogram's series. prom-client 15.1 keeps them in
// `histogram.hashMap`, an object of entries `{ labels, bucketValues: { [upperBound]: count in that bucket },
// sum, count }` that `getForPromString()` reads right after running the metric's `collect()`.
//
// prom-client's own `observe()` hashes the label object on every call, which is most of the hot path's
// cost. So buffered cells count observations in typed arrays and `flush()` (run from `collect()`, at scrape
// time) adds what changed into those entries. A probe checks the layout once per process, and each store
// checks that its histogram has the storage; when either does not match (another prom-client), cells call
// the public `observe()` on every observation instead (slower, same output) and a process warning with
// code `ROUNDGUARD_METRICS_HISTOGRAM_FALLBACK` says so, once.
import { Histogram } from 'prom-client';
import type { LabelSet } from './label-set.js';

/** One histogram series. */
export interface HistogramCell {
  readonly labels: LabelSet;
  /** Records one observation; `value` must already be validated (finite, from 0 up). */
  observe(value: number): void;
}

/** Code of the process warning emitted when histograms fall back to prom-client's `observe()`. */
export const HISTOGRAM_FALLBACK_WARNING = 'ROUNDGUARD_METRICS_HISTOGRAM_FALLBACK';

interface HistogramEntry {
  labels: Record<string, unknown>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

type EntryMap = Record<string, HistogramEntry | undefined>;

/** Where an entry was found, so the next scrape can check in O(1) that it is still the live one. */
interface EntryRef {
  map: EntryMap;
  key: string;
  entry: HistogramEntry;
}

/** Series buffered in typed arrays, flushed into prom-client's entry by {@link HistogramStore.flush}. */
class BufferedCell implements HistogramCell {
  /** Observations per bucket (not cumulative); the last slot is above the highest bound. */
  readonly counts: Float64Array;
  readonly flushedCounts: Float64Array;
  sum = 0;
  count = 0;
  flushedSum = 0;
  flushedCount = 0;
  exported = false;
  ref: EntryRef | undefined;

  constructor(
    readonly labels: LabelSet,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    this.flushedCounts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let i = 0;
    while (i < n && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** Fallback series: prom-client's public `observe()` per observation. */
class DirectCell implements HistogramCell {
  constructor(
    readonly labels: LabelSet,
    private readonly histogram: Histogram<string>,
  ) {}

  observe(value: number): void {
    this.histogram.observe(this.labels, value);
  }
}

function entryMap(histogram: Histogram<string>): EntryMap | undefined {
  const map = (histogram as unknown as { hashMap?: unknown }).hashMap;
  return map !== null && typeof map === 'object' ? (map as EntryMap) : undefined;
}

function sameLabels(stored: Record<string, unknown>, wanted: LabelSet): boolean {
  let n = 0;
  for (const name in wanted) {
    if (String(stored[name]) !== wanted[name]) return false;
    n++;
  }
  for (const name in stored) if (stored[name] !== undefined) n--;
  return n === 0;
}

function findEntry(histogram: Histogram<string>, labels: LabelSet): EntryRef | undefined {
  const map = entryMap(histogram);
  if (map === undefined) return undefined;
  for (const key in map) {
    const entry = map[key];
    if (
      entry !== undefined &&
      entry !== null &&
      typeof entry === 'object' &&
      sameLabels(entry.labels, labels)
    ) {
      return { map, key, entry };
    }
  }
  return undefined;
}

/** `ref` when it still points at the histogram's live entry for its series; otherwise finds or creates it. */
function liveEntry(histogram: Histogram<string>, labels: LabelSet, ref: EntryRef | undefined): EntryRef {
  if (ref !== undefined && ref.map === entryMap(histogram) && ref.map[ref.key] === ref.entry) return ref;
  let found = findEntry(histogram, labels);
  if (found === undefined) {
    histogram.zero(labels);
    found = findEntry(histogram, labels);
  }
  if (found === undefined)
    throw new Error('prom-client histogram layout changed; cannot flush buffered observations');
  return found;
}

let supported: boolean | undefined;
let warned = false;

function probe(): boolean {
  try {
    const h = new Histogram({
      name: 'probe_seconds',
      help: 'probe',
      labelNames: ['a'],
      buckets: [1, 2],
      registers: [],
    });
    h.observe({ a: 'x' }, 1.5);
    const found = findEntry(h, { a: 'x' });
    if (found === undefined) return false;
    const { entry } = found;
    return (
      entry.count === 1 &&
      entry.sum === 1.5 &&
      entry.bucketValues['1'] === 0 &&
      entry.bucketValues['2'] === 1 &&
      Object.keys(entry.bucketValues).length === 2 &&
      !Object.isFrozen(entry.bucketValues) &&
      liveEntry(h, { a: 'y' }, undefined).entry.count === 0
    );
  } catch {
    return false;
  }
}

/** Whether the installed prom-client stores histograms as this module expects (probed once per process). */
export function bufferedHistogramsSupported(): boolean {
  supported ??= probe();
  return supported;
}

/**
 * Test hook, not exported by the package: force the fallback (`false`) or buffering (`true`), or re-probe
 * (`undefined`). Forcing says nothing new, so it does not warn; re-probing arms the one warning again.
 */
export function setBufferedHistogramsSupported(value: boolean | undefined): void {
  supported = value;
  warned = value !== undefined;
}

function warnFallback(): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    "@roundguard/metrics: the installed prom-client does not store histograms the way this version expects; histograms fall back to prom-client's observe() on every observation (slower, same output).",
    { code: HISTOGRAM_FALLBACK_WARNING },
  );
}

/**
 * The series of one prom-client histogram that this package records into. Call {@link HistogramStore.flush}
 * from the histogram's `collect()`.
 */
export class HistogramStore {
  /** Whether observations are buffered (`true`) or go straight to prom-client (`false`, the fallback). */
  readonly buffered: boolean;
  readonly #histogram: Histogram<string>;
  readonly #bounds: Float64Array;
  readonly #boundKeys: readonly string[];
  readonly #cells = new Set<BufferedCell>();

  /**
   * @param histogram the prom-client histogram the series belong to.
   * @param buckets its upper bounds, as given to its constructor.
   */
  constructor(histogram: Histogram<string>, buckets: readonly number[]) {
    this.#histogram = histogram;
    this.#bounds = Float64Array.from(buckets);
    this.#boundKeys = buckets.map(String);
    this.buffered = bufferedHistogramsSupported() && entryMap(histogram) !== undefined;
    if (!this.buffered) warnFallback();
  }

  /** A new series; buffered ones are exported (empty) from the next scrape on. */
  add(labels: LabelSet): HistogramCell {
    if (!this.buffered) return new DirectCell(labels, this.#histogram);
    const cell = new BufferedCell(labels, this.#bounds);
    this.#cells.add(cell);
    return cell;
  }

  /** Stops feeding the series and removes it from the exposition. */
  remove(cell: HistogramCell): void {
    if (cell instanceof BufferedCell) this.#cells.delete(cell);
    this.#histogram.remove(cell.labels);
  }

  /** Adds what the buffered series observed since the last flush to prom-client's entries. */
  flush(): void {
    for (const cell of this.#cells) {
      const added = cell.count - cell.flushedCount;
      if (added === 0 && cell.exported) continue;
      const ref = liveEntry(this.#histogram, cell.labels, cell.ref);
      cell.ref = ref;
      const { entry } = ref;
      const keys = this.#boundKeys;
      for (let i = 0; i < keys.length; i++) {
        const now = cell.counts[i] as number;
        const delta = now - (cell.flushedCounts[i] as number);
        if (delta !== 0) {
          const key = keys[i] as string;
          entry.bucketValues[key] = (entry.bucketValues[key] ?? 0) + delta;
          cell.flushedCounts[i] = now;
        }
      }
      // Observations above the highest bound only show in `count` (the `+Inf` bucket).
      cell.flushedCounts[keys.length] = cell.counts[keys.length] as number;
      entry.sum += cell.sum - cell.flushedSum;
      entry.count += added;
      cell.flushedSum = cell.sum;
      cell.flushedCount = cell.count;
      cell.exported = true;
    }
  }
}
