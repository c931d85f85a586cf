// Series the hot path writes to without calling prom-client.
//
// prom-client's `labels()` children do not cache anything: every `inc()`/`observe()` on a child still
// builds the label hash string and looks it up. So this package keeps its own numbers, one cell per series,
// reached through the caller's own tables, and each prom-client metric's `collect()` (run by the registry
// right before it renders the metric) moves what changed since the last scrape into prom-client: counters
// with the public `inc(labels, increase)`, gauges with the public `set(labels, value)`, histograms through
// histogram-store.ts. Counter increases are added rather than values overwritten, so
// `registry.resetMetrics()` and direct use of the exposed prom-client objects keep working.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { HistogramStore, type HistogramCell } from './histogram-store.js';
import type { LabelSet } from './label-set.js';

export type { HistogramCell } from './histogram-store.js';

/** Name, help text and label names of a metric family. */
export interface FamilyConfig<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  registry: Registry;
}

/** One counter or gauge series: the hot path moves `value`. */
export class ScalarCell {
  value = 0;
  flushed = 0;
  exported = false;
  constructor(readonly labels: LabelSet) {}
}

/** What every family offers the recorders: new series, and their removal. */
export interface Family<C> {
  /** A new series, exported from the next scrape on. */
  add(labels: LabelSet): C;
  /** Stops feeding the series and removes it from the exposition. */
  remove(cell: C): void;
}

type ScalarMetric = Counter<string> | Gauge<string>;

/** A prom-client counter or gauge plus the cells that feed it. */
export class ScalarFamily<M extends ScalarMetric> implements Family<ScalarCell> {
  readonly metric: M;
  readonly #cells = new Set<ScalarCell>();

  private constructor(create: (collect: () => void) => M, flush: (metric: M, cell: ScalarCell) => void) {
    this.metric = create(() => {
      for (const cell of this.#cells) flush(this.metric, cell);
    });
  }

  /** A counter whose cells count up; each scrape adds their increase since the previous one. */
  static counter<T extends string>(config: FamilyConfig<T>): ScalarFamily<Counter<T>> {
    return new ScalarFamily(
      (collect) => new Counter<T>({ ...promConfig(config), collect }),
      (metric: Counter<string>, cell) => {
        const increase = cell.value - cell.flushed;
        if (increase > 0 || !cell.exported) {
          metric.inc(cell.labels, increase);
          cell.flushed = cell.value;
          cell.exported = true;
        }
      },
    );
  }

  /** A gauge whose cells hold the current value; each scrape sets it. */
  static gauge<T extends string>(config: FamilyConfig<T>): ScalarFamily<Gauge<T>> {
    return new ScalarFamily(
      (collect) => new Gauge<T>({ ...promConfig(config), collect }),
      (metric: Gauge<string>, cell) => metric.set(cell.labels, cell.value),
    );
  }

  add(labels: LabelSet): ScalarCell {
    const cell = new ScalarCell(labels);
    this.#cells.add(cell);
    return cell;
  }

  remove(cell: ScalarCell): void {
    this.#cells.delete(cell);
    this.metric.remove(cell.labels);
  }
}

/** A prom-client histogram plus the cells that feed it (see histogram-store.ts). */
export class HistogramFamily<T extends string> implements Family<HistogramCell> {
  readonly metric: Histogram<T>;
  readonly #store: HistogramStore;

  constructor(config: FamilyConfig<T> & { buckets: readonly number[] }) {
    this.metric = new Histogram<T>({
      ...promConfig(config),
      buckets: [...config.buckets],
      collect: () => this.#store.flush(),
    });
    this.#store = new HistogramStore(this.metric, config.buckets);
  }

  add(labels: LabelSet): HistogramCell {
    return this.#store.add(labels);
  }

  remove(cell: HistogramCell): void {
    this.#store.remove(cell);
  }
}

function promConfig<T extends string>(config: FamilyConfig<T>) {
  return {
    name: config.name,
    help: config.help,
    labelNames: config.labelNames,
    registers: [config.registry],
  };
}
