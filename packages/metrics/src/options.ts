import { collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';
import { describe, MetricsError } from './errors.js';
import type { MetricTable } from './metric-spec.js';
import { PROXY_METRICS } from './metric-tables.js';

/** Options of {@link createMetrics} and {@link createHttpServerMetrics}. */
export interface MetricsOptions {
  /**
   * Registry to register the metrics in. By default every call creates its own `new Registry()`, so several
   * instances can live in one process; prom-client's global `register` is never used unless you pass it.
   * Must be a Prometheus text-format registry (OpenMetrics registries rename counters on every scrape).
   *
   * @default new Registry()
   * @example
   * import { Registry } from 'prom-client';
   * const registry = new Registry();
   * const metrics = createMetrics({ registry });
   */
  registry?: Registry;

  /**
   * Prefix of every metric name this package registers. Empty, or a letter or underscore followed by
   * letters, digits and underscores. It does not apply to prom-client's default metrics, which keep their
   * standard names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, ...).
   *
   * @default 'roundguard_'
   * @example
   * createMetrics({ prefix: 'edge_' }); // edge_requests_total, edge_upstream_up, ...
   */
  prefix?: string;

  /**
   * Also collect prom-client's default process and Node.js metrics in the registry (unprefixed). Skipped
   * when the registry already has them. The three gauges prom-client names `*_total`
   * (`nodejs_active_handles_total`, `nodejs_active_requests_total`, `nodejs_active_resources_total`) are
   * left out: `promtool check metrics` rejects a gauge with a `_total` suffix, and each is the sum of its
   * per-type gauge (`sum(nodejs_active_handles)`).
   *
   * @default true
   * @example
   * createMetrics({ defaultMetrics: false }); // only the load balancer's metrics
   */
  defaultMetrics?: boolean;

  /**
   * Labels added to every metric of the registry (prom-client's `registry.setDefaultLabels`, which replaces
   * the registry's previous default labels). Names follow Prometheus rules, must not start with `__`, and
   * must not clash with a label of the metrics created or of prom-client's default metrics (see
   * {@link RESERVED_LABEL_NAMES}). Values are strings.
   *
   * @default undefined (no extra labels)
   * @example
   * createMetrics({ labels: { instance_name: 'edge-1', region: 'eu-west' } });
   */
  labels?: Record<string, string>;

  /**
   * Upper bounds, in seconds, of the duration histograms (request duration, upstream time to first byte,
   * health-check duration). Finite, greater than 0, strictly increasing; `+Inf` is implicit.
   *
   * @default [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   * @example
   * createMetrics({ durationBuckets: [0.01, 0.1, 1, 10, 60] });
   */
  durationBuckets?: number[];
}

/**
 * Default metric name prefix of {@link createMetrics} and {@link createHttpServerMetrics}.
 *
 * @example
 * DEFAULT_PREFIX; // 'roundguard_'
 */
export const DEFAULT_PREFIX = 'roundguard_';

/**
 * Default histogram buckets, in seconds: from 1 ms (a local upstream) to 10 s (a slow one).
 *
 * @example
 * DEFAULT_DURATION_BUCKETS.at(-1); // 10
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Labels of prom-client's default metrics, and the histogram/summary bucket labels. */
const PROM_CLIENT_LABEL_NAMES = [
  'le',
  'quantile',
  'kind',
  'type',
  'space',
  'version',
  'major',
  'minor',
  'patch',
];

/** The label names the `labels` option may not use next to the metrics of `table`. */
function reservedLabelNames(table: MetricTable): readonly string[] {
  const own = Object.values(table).flatMap((spec) => spec.labels);
  return Object.freeze([...new Set([...own, ...PROM_CLIENT_LABEL_NAMES])]);
}

/**
 * Label names the `labels` option of {@link createMetrics} may not use: the labels of its metrics (every
 * label of {@link PROXY_METRICS}), of prom-client's default metrics, and the histogram/summary bucket
 * labels. {@link createHttpServerMetrics} refuses the labels of its own metrics (`method`, `code`) and
 * prom-client's.
 *
 * @example
 * RESERVED_LABEL_NAMES.includes('upstream'); // true
 */
export const RESERVED_LABEL_NAMES: readonly string[] = reservedLabelNames(PROXY_METRICS);

/** prom-client's content type for the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Default-metric gauges whose `_total` suffix fails `promtool check metrics`. */
const LINT_FAILING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** First metric prom-client's `collectDefaultMetrics` registers; its presence means they are collected. */
const DEFAULT_METRICS_MARKER = 'process_cpu_user_seconds_total';

const PREFIX = /^(?:[a-zA-Z_][a-zA-Z0-9_]*)?$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_BUCKETS = 64;

/** {@link MetricsOptions} after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly defaultMetrics: boolean;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly durationBuckets: readonly number[];
}

function invalid(name: string, expected: string, got: unknown): MetricsError {
  return new MetricsError(
    'ERR_METRICS_INVALID_OPTION',
    `Expected \`${name}\` to be ${expected}, got ${describe(got)}`,
  );
}

function isRegistry(value: unknown): value is Registry {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Partial<Record<keyof Registry, unknown>>;
  return (
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function' &&
    typeof r.removeSingleMetric === 'function' &&
    typeof r.setDefaultLabels === 'function' &&
    typeof r.metrics === 'function'
  );
}

/**
 * Validates `options` for creating the metrics of `table` and applies the defaults. Creates no metric; the
 * only side effect is creating the default registry. Throws `ERR_METRICS_INVALID_OPTION` naming the option
 * and the value received.
 */
export function resolveOptions(options: unknown, fn: string, table: MetricTable): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${fn}() options`, 'an object or undefined', options);
  }
  const o = options as Record<keyof MetricsOptions, unknown>;

  let registry: Registry;
  if (o.registry === undefined) {
    registry = new Registry();
  } else if (isRegistry(o.registry)) {
    // Typed as the Prometheus type, but an OpenMetrics registry passes the duck-type check too.
    const contentType: string = (o.registry as Registry<RegistryContentType>).contentType;
    if (contentType !== PROMETHEUS_CONTENT_TYPE) {
      throw invalid(
        'registry',
        `a Prometheus text-format registry (content type ${PROMETHEUS_CONTENT_TYPE})`,
        contentType,
      );
    }
    registry = o.registry;
  } else {
    throw invalid('registry', 'a prom-client Registry (or undefined for a new one)', o.registry);
  }

  const prefix = o.prefix === undefined ? DEFAULT_PREFIX : o.prefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalid(
      'prefix',
      'empty or a letter or underscore followed by letters, digits and underscores',
      prefix,
    );
  }

  const defaultMetrics = o.defaultMetrics === undefined ? true : o.defaultMetrics;
  if (typeof defaultMetrics !== 'boolean') throw invalid('defaultMetrics', 'a boolean', defaultMetrics);

  let labels: Record<string, string> | undefined;
  if (o.labels !== undefined) {
    if (o.labels === null || typeof o.labels !== 'object' || Array.isArray(o.labels)) {
      throw invalid('labels', 'an object of label names to string values', o.labels);
    }
    labels = {};
    const reserved = table === PROXY_METRICS ? RESERVED_LABEL_NAMES : reservedLabelNames(table);
    for (const [name, value] of Object.entries(o.labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw invalid(
          'labels',
          'label names made of letters, digits and underscores, not starting with a digit or "__"',
          name,
        );
      }
      if (reserved.includes(name)) {
        throw invalid('labels', `label names other than ${reserved.join(', ')}`, name);
      }
      if (typeof value !== 'string') throw invalid(`labels.${name}`, 'a string', value);
      labels[name] = value;
    }
    Object.freeze(labels);
  }

  let durationBuckets: readonly number[] = DEFAULT_DURATION_BUCKETS;
  if (o.durationBuckets !== undefined) {
    const b = o.durationBuckets;
    const expected = `an array of 1 to ${MAX_BUCKETS} finite numbers greater than 0, strictly increasing`;
    if (!Array.isArray(b) || b.length === 0 || b.length > MAX_BUCKETS)
      throw invalid('durationBuckets', expected, b);
    for (let i = 0; i < b.length; i++) {
      const v: unknown = b[i];
      const prev: unknown = i > 0 ? b[i - 1] : 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v <= (prev as number)) {
        throw invalid('durationBuckets', expected, b);
      }
    }
    durationBuckets = Object.freeze([...(b as number[])]);
  }

  return { registry, prefix, defaultMetrics, labels, durationBuckets };
}

/** Throws `ERR_METRICS_ALREADY_REGISTERED` when the registry holds any of `names`. Registers nothing. */
export function assertNamesFree(registry: Registry, names: readonly string[]): void {
  const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) {
    throw new MetricsError(
      'ERR_METRICS_ALREADY_REGISTERED',
      `The registry already has a metric named ${taken.map((n) => `\`${n}\``).join(', ')}; pass another \`prefix\` or \`registry\``,
    );
  }
}

/**
 * Applies the `labels` and `defaultMetrics` options to the registry (after the metrics are created, so a
 * failure before leaves the registry untouched).
 */
export function applyRegistryOptions(options: ResolvedOptions): void {
  const { registry } = options;
  if (options.labels !== undefined) registry.setDefaultLabels({ ...options.labels });
  if (options.defaultMetrics && registry.getSingleMetric(DEFAULT_METRICS_MARKER) === undefined) {
    collectDefaultMetrics({ register: registry });
    for (const name of LINT_FAILING_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
}
