// The IPC between the cluster primary and its workers (`--workers N`): the messages both ways and the
// code on each side that sends and applies them. The primary owns the liveness checks, the upstream
// state and the admin server; it pushes every change of health (and SIGHUP reloads) to the workers, so N
// workers do not multiply the probes. Each worker forwards requests on the shared port with its own
// undici pools; a connect failure seen by a worker is reported to the primary, which takes the upstream
// out everywhere. /metrics on the admin server aggregates the workers' registries (prom-client's
// AggregatorRegistry); /upstreams sums their in-flight counts.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { UpstreamConfig } from './options.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamPools } from './upstreams.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Primary -> worker. */
export type ToWorker =
  | { t: 'health'; key: string; healthy: boolean; reason?: string }
  | { t: 'targets'; upstreams: UpstreamConfig[]; health: Record<string, boolean> }
  | { t: 'metrics?'; id: number }
  | { t: 'inflight?'; id: number };

/** Worker -> primary. */
export type ToPrimary =
  | { t: 'listening'; port: number; address: string }
  | { t: 'markDown'; key: string; reason: string }
  | { t: 'metrics'; id: number; metrics: MetricsJson }
  | { t: 'inflight'; id: number; counts: Record<string, number> };

const QUERY_TIMEOUT_MS = 2000;

/** Primary side: fans a query out to every live worker and collects the answers (bounded in time). */
export class WorkerQueries {
  #next = 1;
  readonly #pending = new Map<
    number,
    { answers: unknown[]; expected: number; done: (answers: unknown[]) => void }
  >();

  /** Handles a worker's answer; returns false for messages that are not answers. */
  accept(message: ToPrimary): boolean {
    if (message.t !== 'metrics' && message.t !== 'inflight') return false;
    const pending = this.#pending.get(message.id);
    if (pending !== undefined) {
      pending.answers.push(message.t === 'metrics' ? message.metrics : message.counts);
      if (pending.answers.length === pending.expected) pending.done(pending.answers);
    }
    return true;
  }

  ask<A>(t: 'metrics?' | 'inflight?'): Promise<A[]> {
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && w.isConnected(),
    );
    if (workers.length === 0) return Promise.resolve([]);
    const id = this.#next++;
    return new Promise<A[]>((resolve) => {
      const finish = (answers: unknown[]) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(answers as A[]);
      };
      const timer = setTimeout(() => finish(this.#pending.get(id)?.answers ?? []), QUERY_TIMEOUT_MS);
      this.#pending.set(id, { answers: [], expected: workers.length, done: finish });
      for (const w of workers) w.send({ t, id } satisfies ToWorker);
    });
  }

  /** The Prometheus exposition of the primary's registry merged with every worker's. */
  async metricsText(ctx: ProxyContext): Promise<{ contentType: string; body: string }> {
    const [own, workers] = await Promise.all([
      ctx.metrics.registry.getMetricsAsJSON(),
      this.ask<MetricsJson>('metrics?'),
    ]);
    const registry = AggregatorRegistry.aggregate([own, ...workers]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** In-flight requests per upstream URL, summed over the workers. */
  async inFlight(): Promise<Map<string, number>> {
    const sums = new Map<string, number>();
    for (const counts of await this.ask<Record<string, number>>('inflight?')) {
      for (const [url, n] of Object.entries(counts)) sums.set(url, (sums.get(url) ?? 0) + n);
    }
    return sums;
  }
}

/** Primary side: keeps every worker's balancer in step with the primary's. */
export function broadcastHealth(ctx: ProxyContext): void {
  ctx.balancer.onChange((key, healthy, reason) => {
    const message: ToWorker =
      reason === undefined ? { t: 'health', key, healthy } : { t: 'health', key, healthy, reason };
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(message);
  });
}

/** The message a (re)started worker gets so that it starts from the primary's current state. */
export function targetsMessage(ctx: ProxyContext): ToWorker {
  const health: Record<string, boolean> = {};
  for (const u of ctx.balancer.targets()) health[u.key] = ctx.balancer.isHealthy(u.key);
  return {
    t: 'targets',
    upstreams: ctx.balancer.targets().map((u) => ({ url: u.url, weight: u.weight })),
    health,
  };
}

/**
 * Worker side: applies the primary's state to the local balancer, reports local connect failures, and
 * answers metrics / in-flight queries.
 */
export function attachWorker(ctx: ProxyContext, pools: UpstreamPools): void {
  let applying = false;
  const apply = (fn: () => void) => {
    applying = true;
    try {
      fn();
    } finally {
      applying = false;
    }
  };
  ctx.balancer.onChange((key, healthy, reason) => {
    // A local markDown (a connect failure while forwarding) goes to the primary, which tells everyone.
    if (!applying && !healthy)
      process.send?.({ t: 'markDown', key, reason: reason ?? 'connect failure' } satisfies ToPrimary);
  });
  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'health':
        apply(() =>
          message.healthy
            ? ctx.balancer.markUp(message.key)
            : ctx.balancer.markDown(message.key, message.reason ?? 'down'),
        );
        break;
      case 'targets': {
        const { upstreams, removed } = pools.build(message.upstreams);
        apply(() => {
          ctx.balancer.setTargets(upstreams);
          for (const u of upstreams) {
            if (message.health[u.key] === false) ctx.balancer.markDown(u.key, 'down');
            else if (message.health[u.key] === true) ctx.balancer.markUp(u.key);
          }
        });
        void pools.retire(removed);
        break;
      }
      case 'metrics?':
        void ctx.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => process.send?.({ t: 'metrics', id: message.id, metrics } satisfies ToPrimary));
        break;
      case 'inflight?': {
        const counts: Record<string, number> = {};
        for (const u of ctx.balancer.targets()) counts[u.url] = u.conn.inFlight;
        process.send?.({ t: 'inflight', id: message.id, counts } satisfies ToPrimary);
        break;
      }
    }
  });
}
