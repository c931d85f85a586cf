// Series the hot path writes to without touching prom-client.
//
// prom-client's `labels()` children do not cache anything: every `inc()`/`observe()` on a child still
// builds the label hash string and looks it up (prom-client 15 `lib/counter.js`, `lib/histogram.js`). So the
// hot metrics keep their own numbers here, one object per series, reached through the caller's integer-keyed
// tables, and each prom-client metric's `collect()` (run by the registry right before it renders the metric)
// moves what changed since the last scrape into prom-client:
//   - counters with the public `inc(labels, increase)`,
//   - gauges with the public `set(labels, value)`,
//   - histograms by adding bucket counts, sum and count to the series' entry (see histogram-store.ts), or,
//     when that layout is not recognised, by calling the public `observe()` on every observation instead.
// Increases are added rather than values overwritten, so `registry.resetMetrics()` and direct use of the
// exposed prom-client handles keep working.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { bufferedHistogramsSupported, liveEntry, type EntryRef } from './histogram-store.js';

/** Label name → value of one series. */
export type LabelSet = Record<string, string>;

/** Name, help text and label names of a metric family. */
export interface FamilyConfig<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  registry: Registry;
}

/** One counter series: the hot path adds to `value`. */
export class CounterCell {
  value = 0;
  flushed = 0;
  exported = false;
  constructor(readonly labels: LabelSet) {}
}

/** One gauge series: the hot path moves `value`. */
export class GaugeCell {
  value = 0;
  constructor(readonly labels: LabelSet) {}
}

/** One histogram series. */
export interface HistogramCell {
  readonly labels: LabelSet;
  /** Records one observation; `value` must already be validated (finite). */
  observe(value: number): void;
}

/** Histogram series buffered in typed arrays; flushed into prom-client's entry at scrape time. */
export class BufferedHistogramCell implements HistogramCell {
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

/** Fallback histogram series: prom-client's public `observe()` per observation. */
export class DirectHistogramCell implements HistogramCell {
  constructor(
    readonly labels: LabelSet,
    private readonly metric: Histogram<string>,
  ) {}

  observe(value: number): void {
    this.metric.observe(this.labels, value);
  }
}

/** A prom-client counter plus the cells that feed it. */
export class CounterFamily<T extends string> {
  readonly metric: Counter<T>;
  /** The same object, typed for label sets built at run time. */
  readonly #raw: Counter<string>;
  readonly #cells = new Set<CounterCell>();

  constructor(config: FamilyConfig<T>) {
    this.metric = new Counter<T>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect: () => this.flush(),
    });
    this.#raw = this.metric;
  }

  /** A new series, exported (at 0) from the next scrape on. */
  add(labels: LabelSet): CounterCell {
    const cell = new CounterCell(labels);
    this.#cells.add(cell);
    return cell;
  }

  /** Stops feeding the series and removes it from the exposition. */
  remove(cell: CounterCell): void {
    this.#cells.delete(cell);
    this.#raw.remove(cell.labels);
  }

  flush(): void {
    for (const cell of this.#cells) {
      const increase = cell.value - cell.flushed;
      if (increase > 0 || !cell.exported) {
        this.#raw.inc(cell.labels, increase);
        cell.flushed = cell.value;
        cell.exported = true;
      }
    }
  }
}

/** A prom-client gauge plus the cells that feed it. */
export class GaugeFamily<T extends string> {
  readonly metric: Gauge<T>;
  readonly #raw: Gauge<string>;
  readonly #cells = new Set<GaugeCell>();

  constructor(config: FamilyConfig<T>) {
    this.metric = new Gauge<T>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect: () => this.flush(),
    });
    this.#raw = this.metric;
  }

  add(labels: LabelSet): GaugeCell {
    const cell = new GaugeCell(labels);
    this.#cells.add(cell);
    return cell;
  }

  remove(cell: GaugeCell): void {
    this.#cells.delete(cell);
    this.#raw.remove(cell.labels);
  }

  flush(): void {
    for (const cell of this.#cells) this.#raw.set(cell.labels, cell.value);
  }
}

/** A prom-client histogram plus the cells that feed it. */
export class HistogramFamily<T extends string> {
  readonly metric: Histogram<T>;
  readonly #raw: Histogram<string>;
  readonly #buffered: boolean;
  readonly #bounds: Float64Array;
  readonly #boundKeys: readonly string[];
  readonly #cells = new Set<BufferedHistogramCell>();

  constructor(config: FamilyConfig<T> & { buckets: readonly number[] }) {
    this.#buffered = bufferedHistogramsSupported();
    this.#bounds = Float64Array.from(config.buckets);
    this.#boundKeys = config.buckets.map(String);
    this.metric = new Histogram<T>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      buckets: [...config.buckets],
      registers: [config.registry],
      collect: () => this.flush(),
    });
    this.#raw = this.metric;
  }

  /** Whether observations are buffered (`true`) or go straight to prom-client (`false`, the fallback). */
  get buffered(): boolean {
    return this.#buffered;
  }

  add(labels: LabelSet): HistogramCell {
    if (!this.#buffered) return new DirectHistogramCell(labels, this.#raw);
    const cell = new BufferedHistogramCell(labels, this.#bounds);
    this.#cells.add(cell);
    return cell;
  }

  remove(cell: HistogramCell): void {
    if (cell instanceof BufferedHistogramCell) this.#cells.delete(cell);
    this.#raw.remove(cell.labels);
  }

  flush(): void {
    for (const cell of this.#cells) {
      const added = cell.count - cell.flushedCount;
      if (added === 0 && cell.exported) continue;
      const ref = liveEntry(this.#raw, cell.labels, cell.ref);
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
