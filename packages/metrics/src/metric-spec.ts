import type { Counter, Gauge, Histogram } from 'prom-client';
import type { HistogramFamily, ScalarFamily } from './series.js';

/**
 * One metric of a table such as {@link PROXY_METRICS}: everything needed to register it, document it and
 * type the prom-client object it becomes.
 *
 * @example
 * const spec: MetricSpec = PROXY_METRICS.upstreamUp;
 * spec.name; // 'upstream_up' (registered as `${prefix}upstream_up`)
 */
export interface MetricSpec {
  /** Name without the prefix, e.g. `requests_total`. */
  readonly name: string;
  /** Prometheus metric type. */
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** The `# HELP` text. */
  readonly help: string;
  /** Label names, in the order prom-client gets them. */
  readonly labels: readonly string[];
  /** The closed set of values of some labels (the others are bounded as the package README says). */
  readonly values?: Readonly<Record<string, readonly string[]>>;
  /** Histograms only: the option giving their upper bounds. */
  readonly buckets?: 'durationBuckets';
}

/** A set of metrics under the names a `ProxyMetrics`-like object exposes them by. */
export type MetricTable = Readonly<Record<string, MetricSpec>>;

type LabelsOf<S extends MetricSpec> = [S['labels'][number]] extends [never] ? string : S['labels'][number];

/** The prom-client object a {@link MetricSpec} becomes, typed with its label names. */
export type MetricOf<S extends MetricSpec> = S['type'] extends 'counter'
  ? Counter<LabelsOf<S>>
  : S['type'] extends 'gauge'
    ? Gauge<LabelsOf<S>>
    : Histogram<LabelsOf<S>>;

/** The family (prom-client object plus the cells that feed it) a {@link MetricSpec} becomes. */
export type FamilyOf<S extends MetricSpec> = S['type'] extends 'counter'
  ? ScalarFamily<Counter<LabelsOf<S>>>
  : S['type'] extends 'gauge'
    ? ScalarFamily<Gauge<LabelsOf<S>>>
    : HistogramFamily<LabelsOf<S>>;

/** One prom-client object per entry of a table, under the entry's key. */
export type MetricsOf<T extends MetricTable> = { readonly [K in keyof T]: MetricOf<T[K]> };

/** One family per entry of a table, under the entry's key. */
export type FamiliesOf<T extends MetricTable> = { readonly [K in keyof T]: FamilyOf<T[K]> };

/** Freezes a table and its entries, keeping its literal type. */
export function defineMetricTable<const T extends MetricTable>(table: T): T {
  for (const spec of Object.values(table)) {
    Object.freeze(spec.labels);
    if (spec.values !== undefined) Object.freeze(spec.values);
    Object.freeze(spec);
  }
  return Object.freeze(table);
}
