// The IPC between the cluster primary and its workers (`--workers N`): the messages both ways.
//
// The primary owns the health checks, DNS discovery and the admin API (one prober per upstream, however
// many workers), through a dispatcher that forwards nothing. Each worker forwards through its own
// dispatcher, without probes: its set is what the primary says is in rotation, pushed on every change
// (probes, SIGHUP reloads, admin API writes) and acknowledged, so that a write is answered once every
// worker applied it. What only traffic shows stays per worker: outlier detection (each worker ejects on
// what it sees) and retries. A connect failure seen by a worker takes the upstream out in that worker at
// once and is reported to the primary, which takes it out everywhere until its next good probes.
// /metrics on the admin server aggregates the workers' registries (prom-client's AggregatorRegistry);
// /upstreams adds the workers' counts and ejections to the primary's view; the dashboard adds up their
// traffic counts.
import cluster, { type Worker } from 'node:cluster';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { TrafficCounts } from './dashboard/traffic-counts.js';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** One upstream of a worker, as it reports it. */
export interface WorkerUpstream {
  readonly name: string;
  readonly url: string;
  readonly inFlight: number;
  readonly requests: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
}

/** An upstream a worker forwards to. */
export interface TargetUpstream {
  readonly url: string;
  readonly weight: number;
  readonly name: string;
}

/** Primary -> worker. */
export type ToWorker =
  | {
      t: 'targets';
      /** Grows with every set sent; the worker acknowledges it with `applied`. */
      version: number;
      /** The upstreams in rotation at the primary, in rotation order. */
      upstreams: TargetUpstream[];
      /** Every upstream the primary knows (up or not): the worker drops the metrics of the others. */
      known: string[];
      /** Their names: the worker drops the traffic history of the others. */
      knownNames: string[];
    }
  | { t: 'metrics?'; id: number }
  | { t: 'upstreams?'; id: number }
  | { t: 'traffic?'; id: number }
  /** Shutdown (shutdown.ts, cluster-worker.ts): the primary's delay is over, drain now. */
  | { t: 'drain' };

/** Worker -> primary. */
export type ToPrimary =
  | { t: 'listening'; port: number; address: string }
  /** A worker is ready for its set (messages sent before it listens for them would be lost). */
  | { t: 'targets?' }
  | { t: 'applied'; version: number }
  | { t: 'connectFailed'; name: string; reason: string }
  | { t: 'ejection'; name: string; until: number | null }
  | { t: 'metrics'; id: number; metrics: MetricsJson }
  | { t: 'upstreams'; id: number; upstreams: WorkerUpstream[] }
  | { t: 'traffic'; id: number; traffic: [string, TrafficCounts][] };

/** The workers that can take a message now. */
export function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
}
