import type { Registry } from 'prom-client';
import { describe, MetricsError } from './errors.js';
import type { LabelSet } from './label-set.js';
import { createMetricSet } from './metric-families.js';
import type { MetricsOf } from './metric-spec.js';
import { PROXY_METRICS } from './metric-tables.js';
import type { MetricsOptions } from './options.js';
import {
  ADMIN_ACTIONS,
  adminActionIndex,
  DNS_LOOKUP_RESULTS,
  dnsLookupResultIndex,
  type AdminAction,
  type DnsLookupResult,
} from './outcome.js';
import type { ScalarCell } from './series.js';
import { UpstreamRecorder, type ProxyFamilies, type UpstreamMetrics } from './upstream-metrics.js';

/**
 * `upstream` label value for requests that got no upstream (none healthy: the proxy answered 503).
 *
 * @example
 * metrics.upstream(NO_UPSTREAM).requestFinished('GET', 503, 'no_upstream', 0.0002);
 */
export const NO_UPSTREAM = 'none';

/** A DNS name as discovery looks it up: letters, digits, `-`, `_` (SRV labels) and dots. */
const DNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;

/**
 * The load balancer's metrics (the rows of {@link PROXY_METRICS}), registered in one registry.
 *
 * Record through {@link ProxyMetrics.upstream}'s handles and {@link ProxyMetrics.dnsLookup}. The
 * prom-client object of every row of {@link PROXY_METRICS} is exposed under the row's key
 * (`requestsTotal`, `upstreamUp`, ...) for reading, tests and anything this API does not cover. Counts
 * recorded through this API reach these objects when the registry is scraped (`registry.metrics()`,
 * `metric.get()`).
 *
 * @example
 * const metrics: ProxyMetrics = createMetrics();
 * metrics.upstream('http://127.0.0.1:3001').requestStarted();
 * await metrics.registry.metrics(); // ...roundguard_requests_in_flight{upstream="http://127.0.0.1:3001"} 1
 */
export interface ProxyMetrics extends MetricsOf<typeof PROXY_METRICS> {
  /** The registry holding every metric (and, unless disabled, prom-client's default metrics). */
  readonly registry: Registry;

  /**
   * The recorder for one upstream, created on first use and cached: later calls with the same URL return
   * the same object, so calling this per request is cheap (one `Map` lookup). Creating it exports
   * `roundguard_requests_in_flight{upstream}` at 0; `roundguard_upstream_up` appears only once
   * `setUp()` or `setState()` is called.
   *
   * @param url the configured upstream URL (the `upstream` label value, kept as given), or
   *   {@link NO_UPSTREAM} for requests that got no upstream. A non-empty string, else
   *   `ERR_METRICS_INVALID_LABEL`.
   * @example
   * const up = metrics.upstream('http://127.0.0.1:3001');
   * up.setUp(true);
   */
  upstream(url: string): UpstreamMetrics;

  /**
   * Removes every series of one upstream (after a config reload dropped it) and detaches its handle:
   * calls on handles obtained earlier are ignored from now on. Unknown URLs are ignored.
   *
   * @example
   * metrics.removeUpstream('http://127.0.0.1:3001');
   */
  removeUpstream(url: string): void;

  /**
   * One DNS lookup for upstream discovery ended: `roundguard_dns_lookups_total{name, result}` +1. The
   * first lookup of a name exports its three results (at 0). Allocation-free from the second lookup of a
   * name on.
   *
   * @param name the name looked up: `NAME` of `dns+http://NAME:PORT`, or `_SERVICE._tcp.NAME` of
   *   `dnssrv+http://_SERVICE._tcp.NAME`. Letters, digits, `-`, `_` and `.`, 1 to 253 characters, else
   *   `ERR_METRICS_INVALID_LABEL`. Names come from the configuration, which keeps the label bounded;
   *   {@link ProxyMetrics.removeDnsName} drops a name a reload removed.
   * @param result a {@link DnsLookupResult}, else `ERR_METRICS_INVALID_LABEL`.
   * @example
   * metrics.dnsLookup('echo.default.svc.cluster.local', 'ok');
   */
  dnsLookup(name: string, result: DnsLookupResult): void;

  /**
   * Removes the `roundguard_dns_lookups_total` series of one name (after a config reload dropped it).
   * Unknown names are ignored.
   *
   * @example
   * metrics.removeDnsName('echo.default.svc.cluster.local');
   */
  removeDnsName(name: string): void;

  /**
   * One change made through an admin API: `roundguard_admin_changes_total{action}` +1. The first change
   * exports every action (the others at 0). Allocation-free from the second change on.
   *
   * @param action an {@link AdminAction}, else `ERR_METRICS_INVALID_LABEL`.
   * @example
   * metrics.adminChange('drain');
   */
  adminChange(action: AdminAction): void;
}

class ProxyMetricsCore {
  readonly registry: Registry;
  readonly #families: ProxyFamilies;
  readonly #upstreams = new Map<string, UpstreamRecorder>();
  /** Name → one series per result, in {@link DNS_LOOKUP_RESULTS} order. */
  readonly #dnsNames = new Map<string, readonly ScalarCell[]>();

  /** One series per action, in {@link ADMIN_ACTIONS} order, made at the first change. */
  #adminChanges: readonly ScalarCell[] | undefined;

  constructor(registry: Registry, families: ProxyFamilies) {
    this.registry = registry;
    this.#families = families;
  }

  adminChange(action: AdminAction): void {
    const i = adminActionIndex(action);
    this.#adminChanges ??= ADMIN_ACTIONS.map((a) =>
      this.#families.adminChanges.add({ action: a } satisfies LabelSet),
    );
    (this.#adminChanges[i] as ScalarCell).value++;
  }

  upstream(url: string): UpstreamMetrics {
    return this.#upstreams.get(url) ?? this.#create(url);
  }

  removeUpstream(url: string): void {
    const recorder = this.#upstreams.get(url);
    if (recorder === undefined) return;
    this.#upstreams.delete(url);
    recorder.detach();
  }

  dnsLookup(name: string, result: DnsLookupResult): void {
    const i = dnsLookupResultIndex(result);
    const cells = this.#dnsNames.get(name) ?? this.#newDnsName(name);
    (cells[i] as ScalarCell).value++;
  }

  removeDnsName(name: string): void {
    const cells = this.#dnsNames.get(name);
    if (cells === undefined) return;
    this.#dnsNames.delete(name);
    for (const cell of cells) this.#families.dnsLookups.remove(cell);
  }

  #create(url: string): UpstreamRecorder {
    if (typeof url !== 'string' || url.length === 0) {
      throw new MetricsError(
        'ERR_METRICS_INVALID_LABEL',
        `Expected \`url\` to be a non-empty string (the upstream URL, or NO_UPSTREAM), got ${describe(url)}`,
      );
    }
    const recorder = new UpstreamRecorder(url, this.#families);
    this.#upstreams.set(url, recorder);
    return recorder;
  }

  #newDnsName(name: string): readonly ScalarCell[] {
    if (typeof name !== 'string' || !DNS_NAME.test(name)) {
      throw new MetricsError(
        'ERR_METRICS_INVALID_LABEL',
        `Expected \`name\` to be a DNS name (letters, digits, "-", "_" and ".", 1 to 253 characters), got ${describe(name)}`,
      );
    }
    const family = this.#families.dnsLookups;
    const cells = DNS_LOOKUP_RESULTS.map((result) => family.add({ name, result } satisfies LabelSet));
    this.#dnsNames.set(name, cells);
    return cells;
  }
}

/**
 * Creates the load balancer's metrics, the rows of {@link PROXY_METRICS} (listed with their labels in
 * the package README), in a registry (a new one unless `options.registry` is given), plus prom-client's
 * default process and Node.js metrics (see {@link MetricsOptions.defaultMetrics}).
 *
 * Throws `ERR_METRICS_INVALID_OPTION` for a bad option and `ERR_METRICS_ALREADY_REGISTERED` when the
 * registry already has one of these names; in both cases nothing is registered.
 *
 * @param options see {@link MetricsOptions}.
 * @example
 * import { createServer } from 'node:http';
 * import { createMetrics, metricsHandler } from '@roundguard/metrics';
 *
 * const metrics = createMetrics();
 * const up = metrics.upstream('http://127.0.0.1:3001');
 * up.setUp(true);
 * up.requestStarted();
 * up.requestFinished('GET', 200, 'ok', 0.012);
 * createServer(metricsHandler(metrics.registry)).listen(9090, '127.0.0.1');
 */
export function createMetrics(options?: MetricsOptions): ProxyMetrics {
  return createMetricSet(
    'createMetrics',
    PROXY_METRICS,
    options,
    (registry, families) => new ProxyMetricsCore(registry, families),
  );
}
