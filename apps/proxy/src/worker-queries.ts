// Primary side of the cluster's queries: fans a question out to every live worker and collects the
// answers (bounded in time), for /metrics, /upstreams and the dashboard's traffic.
import { AggregatorRegistry } from 'prom-client';
import { mergeCounts, summarize, type TrafficCounts } from './dashboard/traffic-counts.js';
import type { UpstreamTraffic } from './dashboard/traffic-history.js';
import { liveWorkers, type MetricsJson, type ToPrimary, type ToWorker } from './ipc-messages.js';
import type { ProxyContext } from './proxy-context.js';

const QUERY_TIMEOUT_MS = 2000;

type Question = 'metrics?' | 'upstreams?' | 'traffic?';

export class WorkerQueries {
  #next = 1;
  readonly #pending = new Map<
    number,
    { answers: unknown[]; expected: number; done: (answers: unknown[]) => void }
  >();

  /** Handles a worker's answer; returns false for messages that are not answers. */
  accept(message: ToPrimary): boolean {
    let answer: unknown;
    if (message.t === 'metrics') answer = message.metrics;
    else if (message.t === 'upstreams') answer = message.upstreams;
    else if (message.t === 'traffic') answer = message.traffic;
    else return false;
    const pending = this.#pending.get(message.id);
    if (pending !== undefined) {
      pending.answers.push(answer);
      if (pending.answers.length === pending.expected) pending.done(pending.answers);
    }
    return true;
  }

  ask<A>(t: Question): Promise<A[]> {
    const workers = liveWorkers();
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

  /** Every upstream's traffic, the workers' counts added up. */
  async traffic(): Promise<Map<string, UpstreamTraffic>> {
    const answers = await this.ask<[string, TrafficCounts][]>('traffic?');
    const byName = new Map<string, TrafficCounts[]>();
    for (const list of answers) {
      for (const [name, counts] of list) {
        const all = byName.get(name) ?? [];
        all.push(counts);
        byName.set(name, all);
      }
    }
    const out = new Map<string, UpstreamTraffic>();
    for (const [name, list] of byName) out.set(name, summarize(mergeCounts(list)));
    return out;
  }
}
