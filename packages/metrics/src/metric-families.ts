import type { Counter, Gauge, Registry } from 'prom-client';
import type { FamiliesOf, MetricSpec, MetricsOf, MetricTable } from './metric-spec.js';
import { applyRegistryOptions, assertNamesFree, resolveOptions, type ResolvedOptions } from './options.js';
import { HistogramFamily, ScalarFamily, type FamilyConfig } from './series.js';

type AnyFamily = ScalarFamily<Counter<string>> | ScalarFamily<Gauge<string>> | HistogramFamily<string>;

function createFamily(spec: MetricSpec, options: ResolvedOptions): AnyFamily {
  const config: FamilyConfig<string> = {
    name: options.prefix + spec.name,
    help: spec.help,
    labelNames: spec.labels,
    registry: options.registry,
  };
  switch (spec.type) {
    case 'counter':
      return ScalarFamily.counter(config);
    case 'gauge':
      return ScalarFamily.gauge(config);
    case 'histogram':
      return new HistogramFamily({ ...config, buckets: options[spec.buckets ?? 'durationBuckets'] });
  }
}

/**
 * Registers every metric of `table` in `options.registry`, with the prefix. Throws
 * `ERR_METRICS_ALREADY_REGISTERED` (registering nothing) when the registry already holds one of the names.
 */
function createFamilies<T extends MetricTable>(table: T, options: ResolvedOptions): FamiliesOf<T> {
  const specs = Object.entries(table);
  assertNamesFree(
    options.registry,
    specs.map(([, spec]) => options.prefix + spec.name),
  );
  return Object.fromEntries(specs.map(([key, spec]) => [key, createFamily(spec, options)])) as FamiliesOf<T>;
}

/** The prom-client object of every family, under the same keys. */
function metricsOf<T extends MetricTable>(families: FamiliesOf<T>): MetricsOf<T> {
  return Object.fromEntries(
    Object.entries(families as Record<string, AnyFamily>).map(([key, family]) => [key, family.metric]),
  ) as MetricsOf<T>;
}

/**
 * Validates `options`, registers the metrics of `table` and applies the registry options; returns the
 * recorder `create` makes, with the prom-client object of every row under the row's key.
 */
export function createMetricSet<T extends MetricTable, R extends object>(
  fn: string,
  table: T,
  options: unknown,
  create: (registry: Registry, families: FamiliesOf<T>) => R,
): R & MetricsOf<T> {
  const resolved = resolveOptions(options, fn, table);
  const families = createFamilies(table, resolved);
  applyRegistryOptions(resolved);
  return Object.assign(create(resolved.registry, families), metricsOf(families));
}
