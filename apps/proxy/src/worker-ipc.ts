// The IPC between the cluster primary and its workers (`--workers N`): the messages both ways and the
// code on each side that sends and applies them.
//
// The primary owns the health checks and DNS discovery (one prober per upstream, however many workers),
// through a dispatcher that forwards nothing. Each worker forwards through its own dispatcher, without
// probes: its set is what the primary says is up, pushed on every change (and on SIGHUP reloads). What
// only traffic shows stays per worker: outlier detection (each worker ejects on what it sees) and
// retries. A connect failure seen by a worker takes the upstream out in that worker at once and is
// reported to the primary, which takes it out everywhere until its next good probes. /metrics on the
// admin server aggregates the workers' registries (prom-client's AggregatorRegistry); /upstreams adds
// the workers' counts and ejections to the primary's view.
import cluster, { type Worker } from 'node:cluster';
import type { UpstreamStatus } from '@roundguard/dispatcher';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { upstreamReport, type UpstreamReport } from './admin-server.js';
import type { ProxyContext } from './proxy-context.js';
import { dataOf, trackState, type ProxyUpstream } from './upstreams.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** One upstream of a worker, as it reports it. */
export interface WorkerUpstream {
  readonly name: string;
  readonly inFlight: number;
  readonly requests: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
}

/** Primary -> worker. */
export type ToWorker =
  | {
      t: 'targets';
      /** The upstreams in rotation at the primary, in rotation order. */
      upstreams: { url: string; weight: number }[];
      /** Every upstream the primary knows (up or not): the worker drops the metrics of the others. */
      known: string[];
    }
  | { t: 'metrics?'; id: number }
  | { t: 'upstreams?'; id: number };

/** Worker -> primary. */
export type ToPrimary =
  | { t: 'listening'; port: number; address: string }
  /** A worker is ready for its set (messages sent before it listens for them would be lost). */
  | { t: 'targets?' }
  | { t: 'connectFailed'; name: string; reason: string }
  | { t: 'ejection'; name: string; until: number | null }
  | { t: 'metrics'; id: number; metrics: MetricsJson }
  | { t: 'upstreams'; id: number; upstreams: WorkerUpstream[] };

const QUERY_TIMEOUT_MS = 2000;

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
}

/** Primary side: fans a query out to every live worker and collects the answers (bounded in time). */
export class WorkerQueries {
  #next = 1;
  readonly #pending = new Map<
    number,
    { answers: unknown[]; expected: number; done: (answers: unknown[]) => void }
  >();

  /** Handles a worker's answer; returns false for messages that are not answers. */
  accept(message: ToPrimary): boolean {
    if (message.t !== 'metrics' && message.t !== 'upstreams') return false;
    const pending = this.#pending.get(message.id);
    if (pending !== undefined) {
      pending.answers.push(message.t === 'metrics' ? message.metrics : message.upstreams);
      if (pending.answers.length === pending.expected) pending.done(pending.answers);
    }
    return true;
  }

  ask<A>(t: 'metrics?' | 'upstreams?'): Promise<A[]> {
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
}

/** A connect failure a worker reported: out everywhere until `rise` good probes in a row. */
interface ForcedDown {
  readonly reason: string;
  goodProbes: number;
}

/**
 * Primary side: the cluster's view of the upstreams. The primary's dispatcher says which are up (its
 * probes); on top of it, connect failures reported by workers take an upstream out until its next good
 * probes, and ejections reported by workers show as `ejected`. Every change is pushed to the workers
 * (the set they forward to) and into the state metrics.
 */
export class ClusterUpstreams {
  readonly #ctx: ProxyContext;
  readonly #forced = new Map<string, ForcedDown>();
  /** Ejections by upstream name, then by worker id: until when. */
  readonly #ejections = new Map<string, Map<number, number>>();
  /** The state last reported in the metrics, by upstream name. */
  readonly #states = new Map<string, UpstreamStatus['state']>();
  #lastTargets = '';
  #scheduled = false;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
    const lb = ctx.dispatcher;
    const rise = ctx.config.healthRise;
    lb.on('probe', (e) => {
      const forced = this.#forced.get(e.upstream.name);
      if (forced === undefined) return;
      forced.goodProbes = e.result === 'ok' ? forced.goodProbes + 1 : 0;
      if (forced.goodProbes < rise) return;
      this.#forced.delete(e.upstream.name);
      // The probe's own change (if any) is logged by the dispatcher's listeners; this one is ours.
      if (e.result === 'ok')
        ctx.logger.info('upstream up', { upstream: e.upstream.url, upstream_name: e.upstream.name });
      this.#schedule();
    });
    lb.on('stateChange', () => this.#schedule());
    lb.on('upstreamAdded', () => this.#schedule());
    lb.on('upstreamRemoved', (u) => {
      this.#forced.delete(u.name);
      this.#ejections.delete(u.name);
      this.#states.delete(u.name);
      ctx.metrics.removeUpstream(u.url);
      this.#schedule();
    });
    this.#update();
  }

  /** Handles a worker's report; returns false for messages that are not reports. */
  accept(worker: Worker, message: ToPrimary): boolean {
    if (message.t === 'connectFailed') {
      const status = this.#ctx.dispatcher.status().find((s) => s.name === message.name);
      if (status !== undefined && status.healthy && !this.#forced.has(message.name)) {
        this.#forced.set(message.name, { reason: message.reason, goodProbes: 0 });
        this.#ctx.logger.warn('upstream down', {
          upstream: status.url,
          upstream_name: status.name,
          reason: message.reason,
        });
        this.#schedule();
      }
      return true;
    }
    if (message.t === 'ejection') {
      let byWorker = this.#ejections.get(message.name);
      if (message.until === null) byWorker?.delete(worker.id);
      else {
        if (byWorker === undefined) this.#ejections.set(message.name, (byWorker = new Map<number, number>()));
        byWorker.set(worker.id, message.until);
      }
      this.#schedule();
      return true;
    }
    return false;
  }

  /** A worker is gone: its ejections with it. */
  workerExited(worker: Worker): void {
    for (const byWorker of this.#ejections.values()) byWorker.delete(worker.id);
    this.#schedule();
  }

  /** The message that gives a worker the set it forwards to. */
  targetsMessage(): ToWorker {
    const statuses = this.#ctx.dispatcher.status();
    return {
      t: 'targets',
      upstreams: statuses.filter((s) => this.#inRotation(s)).map((s) => ({ url: s.url, weight: s.weight })),
      known: statuses.map((s) => s.url),
    };
  }

  /** `/upstreams`: the primary's view with the workers' counts and ejections. */
  async report(queries: WorkerQueries): Promise<UpstreamReport[]> {
    const answers = await queries.ask<WorkerUpstream[]>('upstreams?');
    const sums = new Map<
      string,
      { inFlight: number; requests: number; failures: number; consecutiveFailures: number }
    >();
    for (const list of answers) {
      for (const u of list) {
        const sum = sums.get(u.name) ?? { inFlight: 0, requests: 0, failures: 0, consecutiveFailures: 0 };
        sum.inFlight += u.inFlight;
        sum.requests += u.requests;
        sum.failures += u.failures;
        sum.consecutiveFailures = Math.max(sum.consecutiveFailures, u.consecutiveFailures);
        sums.set(u.name, sum);
      }
    }
    const handles = this.#ctx.dispatcher.upstreams();
    return this.#ctx.dispatcher.status().map((s, i) => {
      const forced = this.#forced.get(s.name);
      const status = forced === undefined ? s : { ...s, healthy: false, lastError: forced.reason };
      return upstreamReport(
        status,
        handles[i]?.data?.since ?? null,
        sums.get(s.name) ?? { inFlight: 0, requests: 0, failures: 0, consecutiveFailures: 0 },
        this.#state(s),
        this.#ejectedUntil(s.name),
      );
    });
  }

  /** Upstreams that some worker can send a request to now (for `/readyz`). */
  pickable(): number {
    const workers = Math.max(1, liveWorkers().length);
    let n = 0;
    for (const s of this.#ctx.dispatcher.status()) {
      if (this.#inRotation(s) && s.weight > 0 && (this.#ejections.get(s.name)?.size ?? 0) < workers) n++;
    }
    return n;
  }

  #inRotation(s: UpstreamStatus): boolean {
    return s.state === 'up' && !this.#forced.has(s.name);
  }

  #state(s: UpstreamStatus): UpstreamStatus['state'] {
    if (s.state !== 'up') return s.state;
    if (this.#forced.has(s.name)) return 'down';
    return this.#ejectedUntil(s.name) === null ? 'up' : 'ejected';
  }

  #ejectedUntil(name: string): number | null {
    const byWorker = this.#ejections.get(name);
    if (byWorker === undefined || byWorker.size === 0) return null;
    return Math.max(...byWorker.values());
  }

  /** Coalesces the changes of one turn (a reload emits several events) into one update. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#update();
    });
  }

  #update(): void {
    const lb = this.#ctx.dispatcher;
    const handles = lb.upstreams();
    lb.status().forEach((s, i) => {
      const handle = handles[i] as ProxyUpstream;
      const state = this.#state(s);
      const before = this.#states.get(s.name);
      if (before === state) return;
      this.#states.set(s.name, state);
      const data = dataOf(handle, this.#ctx.metrics, this.#ctx.history);
      if (before === undefined) data.metrics.setState(state);
      else trackState(data, before, state);
    });
    const message = this.targetsMessage();
    const text = JSON.stringify(message);
    if (text === this.#lastTargets) return;
    this.#lastTargets = text;
    for (const w of liveWorkers()) w.send(message);
  }
}

/**
 * Worker side: applies the primary's set to the local dispatcher, reports connect failures and
 * ejections, and answers metrics / upstream queries. Resolves once the first set has arrived.
 */
export function attachWorker(ctx: ProxyContext): Promise<void> {
  const lb = ctx.dispatcher;
  /** Counts of upstreams that left this worker's set (they come back as new ones). */
  const retired = new Map<string, { requests: number; failures: number }>();
  let known = new Set<string>();
  lb.on('down', (e) => {
    if (e.cause === 'connect_failure')
      process.send?.({ t: 'connectFailed', name: e.upstream.name, reason: e.reason } satisfies ToPrimary);
  });
  lb.on('ejected', (e) =>
    process.send?.({ t: 'ejection', name: e.upstream.name, until: e.ejectedUntil } satisfies ToPrimary),
  );
  lb.on('restored', (e) =>
    process.send?.({ t: 'ejection', name: e.upstream.name, until: null } satisfies ToPrimary),
  );
  // An upstream leaves this worker's set when the primary takes it out, and comes back as a new one: its
  // counts as of then are kept (requests in flight at that time finish on it).
  let snapshot = new Map<ProxyUpstream, UpstreamStatus>();
  lb.on('upstreamRemoved', (u) => {
    const s = snapshot.get(u);
    if (s === undefined) return;
    const r = retired.get(u.name) ?? { requests: 0, failures: 0 };
    r.requests += s.requests;
    r.failures += s.failures;
    retired.set(u.name, r);
  });
  return new Promise<void>((resolve) => {
    process.send?.({ t: 'targets?' } satisfies ToPrimary);
    process.on('message', (message: ToWorker) => {
      switch (message.t) {
        case 'targets': {
          const statuses = lb.status();
          const handles = lb.upstreams();
          snapshot = new Map(handles.map((u, i) => [u, statuses[i] as UpstreamStatus]));
          lb.setUpstreams(message.upstreams);
          const nextKnown = new Set(message.known);
          for (const url of known) if (!nextKnown.has(url)) ctx.metrics.removeUpstream(url);
          known = nextKnown;
          resolve();
          break;
        }
        case 'metrics?':
          void ctx.metrics.registry
            .getMetricsAsJSON()
            .then((metrics) => process.send?.({ t: 'metrics', id: message.id, metrics } satisfies ToPrimary));
          break;
        case 'upstreams?': {
          const upstreams: WorkerUpstream[] = lb.status().map((s) => {
            const r = retired.get(s.name);
            return {
              name: s.name,
              inFlight: s.inFlight,
              requests: s.requests + (r?.requests ?? 0),
              failures: s.failures + (r?.failures ?? 0),
              consecutiveFailures: s.consecutiveFailures,
            };
          });
          for (const [name, r] of retired) {
            if (!upstreams.some((u) => u.name === name))
              upstreams.push({
                name,
                inFlight: 0,
                requests: r.requests,
                failures: r.failures,
                consecutiveFailures: 0,
              });
          }
          process.send?.({ t: 'upstreams', id: message.id, upstreams } satisfies ToPrimary);
          break;
        }
      }
    });
  });
}
