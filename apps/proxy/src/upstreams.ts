// The configured upstreams: one undici Pool per upstream URL (keep-alive to the backends), its
// pre-bound metrics and its in-flight count, kept across config reloads for URLs that stay.
import type { HttpTarget } from '@roundguard/balancer';
import type { ProxyMetrics, UpstreamMetrics } from '@roundguard/metrics';
import { Pool } from 'undici';
import type { UpstreamConfig } from './options.js';

/** Per-URL state that outlives weight changes and reloads: connection pool, metrics, in-flight count. */
export interface UpstreamConnection {
  readonly url: string;
  readonly pool: Pool;
  readonly metrics: UpstreamMetrics;
  inFlight: number;
}

/** A balancer target: the URL is its key. */
export interface Upstream extends HttpTarget {
  readonly key: string;
  readonly url: string;
  readonly weight: number;
  readonly conn: UpstreamConnection;
}

export interface PoolSettings {
  readonly connectTimeout: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
}

/**
 * Idle upstream connections are closed after this long: below the 5 s keep-alive timeout of Node.js
 * servers (and of the echo backend), so the proxy closes an idle socket before the backend does and
 * never sends a request on a socket the backend is closing.
 */
export const UPSTREAM_KEEPALIVE_TIMEOUT_MS = 4000;

export class UpstreamPools {
  readonly #conns = new Map<string, UpstreamConnection>();
  readonly #settings: PoolSettings;
  readonly #metrics: ProxyMetrics;

  constructor(settings: PoolSettings, metrics: ProxyMetrics) {
    this.#settings = settings;
    this.#metrics = metrics;
  }

  /**
   * Builds the targets for a configuration, reusing the pool of every URL that stays. Returns the
   * connections of URLs no longer configured; close them with {@link UpstreamPools.retire} once the
   * balancer no longer hands them out.
   */
  build(configs: readonly UpstreamConfig[]): { upstreams: Upstream[]; removed: UpstreamConnection[] } {
    const upstreams = configs.map(({ url, weight }) => {
      let conn = this.#conns.get(url);
      if (conn === undefined) {
        conn = {
          url,
          pool: new Pool(url, {
            connect: { timeout: this.#settings.connectTimeout },
            headersTimeout: this.#settings.headersTimeout,
            bodyTimeout: this.#settings.bodyTimeout,
            keepAliveTimeout: UPSTREAM_KEEPALIVE_TIMEOUT_MS,
            keepAliveMaxTimeout: 600_000,
            pipelining: 1,
          }),
          metrics: this.#metrics.upstream(url),
          inFlight: 0,
        };
        this.#conns.set(url, conn);
      }
      return { key: url, url, weight, conn };
    });
    const keep = new Set(configs.map((c) => c.url));
    const removed = [...this.#conns.values()].filter((c) => !keep.has(c.url));
    for (const c of removed) this.#conns.delete(c.url);
    return { upstreams, removed };
  }

  /** Closes retired pools once their requests in flight are done (undici's graceful `close`). */
  async retire(conns: readonly UpstreamConnection[]): Promise<void> {
    await Promise.all(
      conns.map(async (c) => {
        await c.pool.close().catch(() => undefined);
        // A reload may have brought the URL back meanwhile: its metrics handle is shared, keep it.
        if (!this.#conns.has(c.url)) this.#metrics.removeUpstream(c.url);
      }),
    );
  }

  /** Closes every pool: gracefully, then by force after `graceMs`. */
  async closeAll(graceMs: number): Promise<void> {
    const pools = [...this.#conns.values()].map((c) => c.pool);
    const timer = setTimeout(() => {
      for (const pool of pools) pool.destroy().catch(() => undefined);
    }, graceMs);
    timer.unref();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    clearTimeout(timer);
  }
}
