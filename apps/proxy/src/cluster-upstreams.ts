// Primary side of the cluster's upstream state (see ipc-messages.ts): the primary's dispatcher says which
// upstreams are up (its probes, the admin API's changes); on top of it, connect failures and ejections
// reported by workers. Every change is pushed to the workers as the set they forward to, and into the
// state metrics.
import type { Worker } from 'node:cluster';
import type { UpstreamStatus } from '@roundguard/dispatcher';
import { upstreamReport, type UpstreamReport } from './admin-read.js';
import { liveWorkers, type ToPrimary, type ToWorker, type WorkerUpstream } from './ipc-messages.js';
import type { ProxyContext } from './proxy-context.js';
import { dataOf, trackState, type ProxyUpstream } from './upstreams.js';
import type { WorkerQueries } from './worker-queries.js';

/** How long a write waits for the workers to apply the new set before it is answered anyway. */
const APPLY_TIMEOUT_MS = 2000;

/** The status a removed upstream is reported with while workers still finish its requests. */
const LEFTOVER: UpstreamStatus = {
  name: '',
  url: '',
  weight: 0,
  state: 'draining',
  adminState: 'drain',
  healthy: false,
  inFlight: 0,
  requests: 0,
  failures: 0,
  consecutiveFailures: 0,
  ejections: 0,
  ejectedUntil: null,
  lastProbeAt: null,
  lastProbeResult: null,
  lastError: null,
  discoveredFrom: null,
};

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
  /** The version of the last set sent, and the last one each worker applied. */
  #version = 0;
  readonly #applied = new Map<number, number>();
  readonly #waiters = new Set<() => void>();

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
    if (message.t === 'applied') {
      this.#applied.set(worker.id, message.version);
      for (const wake of [...this.#waiters]) wake();
      return true;
    }
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
    this.#applied.delete(worker.id);
    for (const wake of [...this.#waiters]) wake();
    for (const byWorker of this.#ejections.values()) byWorker.delete(worker.id);
    this.#schedule();
  }

  /** The message that gives a worker the set it forwards to. */
  targetsMessage(): ToWorker {
    const statuses = this.#ctx.dispatcher.status();
    return {
      t: 'targets',
      version: this.#version,
      upstreams: statuses
        .filter((s) => this.#inRotation(s))
        .map((s) => ({ url: s.url, weight: s.weight, name: s.name })),
      known: statuses.map((s) => s.url),
      knownNames: statuses.map((s) => s.name),
    };
  }

  /**
   * Pushes the set as it is now (after an admin API change) and resolves once every live worker applied
   * it, or after {@link APPLY_TIMEOUT_MS} (a stuck worker is replaced, not waited for).
   */
  applied(): Promise<void> {
    this.#update();
    const version = this.#version;
    const done = () => liveWorkers().every((w) => (this.#applied.get(w.id) ?? -1) >= version);
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const wake = () => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, APPLY_TIMEOUT_MS);
      this.#waiters.add(wake);
    });
  }

  /**
   * `/upstreams`: the primary's view with the workers' counts and ejections, plus the upstreams the
   * primary removed that some worker still has requests in flight to (as `draining`).
   */
  async report(queries: WorkerQueries): Promise<UpstreamReport[]> {
    const answers = await queries.ask<WorkerUpstream[]>('upstreams?');
    const sums = new Map<string, WorkerUpstream>();
    for (const list of answers) {
      for (const u of list) {
        const sum = sums.get(u.name);
        sums.set(
          u.name,
          sum === undefined
            ? u
            : {
                name: u.name,
                url: u.url,
                inFlight: sum.inFlight + u.inFlight,
                requests: sum.requests + u.requests,
                failures: sum.failures + u.failures,
                consecutiveFailures: Math.max(sum.consecutiveFailures, u.consecutiveFailures),
              },
        );
      }
    }
    const none = { inFlight: 0, requests: 0, failures: 0, consecutiveFailures: 0 };
    const handles = this.#ctx.dispatcher.upstreams();
    const statuses = this.#ctx.dispatcher.status();
    const reports = statuses.map((s, i) => {
      const forced = this.#forced.get(s.name);
      const status = forced === undefined ? s : { ...s, healthy: false, lastError: forced.reason };
      return upstreamReport(
        status,
        handles[i]?.data?.since ?? null,
        sums.get(s.name) ?? none,
        this.#state(s),
        this.#ejectedUntil(s.name),
      );
    });
    const known = new Set(statuses.map((s) => s.name));
    for (const u of sums.values()) {
      if (known.has(u.name) || u.inFlight === 0) continue;
      reports.push({
        ...upstreamReport(LEFTOVER, null, u, 'draining', null),
        name: u.name,
        url: u.url,
        adminState: 'drain',
      });
    }
    return reports;
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
    const { version: _, ...set } = this.targetsMessage() as Extract<ToWorker, { t: 'targets' }>;
    const text = JSON.stringify(set);
    if (text === this.#lastTargets) return;
    this.#lastTargets = text;
    this.#version++;
    const message = this.targetsMessage();
    for (const w of liveWorkers()) w.send(message);
  }
}
