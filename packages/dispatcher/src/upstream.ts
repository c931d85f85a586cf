import type { HttpTarget, ProbeOutcome, ProbeResult } from '@roundguard/balancer';
import type { Pool } from 'undici';
import type { OutlierSubject } from './outlier-detection.js';

/**
 * An upstream's state, as `status()` and `stateChange` events report it (first match wins):
 * - `maint`: set to maintenance with `setState(name, 'maint')`: no requests, no probes;
 * - `draining`: set to drain with `setState(name, 'drain')`, or removed from the set (by `setUpstreams`
 *   or because discovery no longer finds it) and waiting for its requests in flight: no new requests;
 * - `down`: its last probe failed, a connection to it failed, or it was added and has not answered a
 *   probe yet;
 * - `ejected`: outlier detection took it out until `ejectedUntil`;
 * - `up`: in rotation (a weight of 0 still keeps it from being picked).
 */
export type UpstreamState = 'up' | 'down' | 'ejected' | 'draining' | 'maint';

/** What `setState` sets: `ready` (take traffic), `drain` (no new requests; probes go on), `maint` (neither). */
export type AdminState = 'ready' | 'drain' | 'maint';

/**
 * An upstream as the application sees it: the same object for the upstream's whole life, handed to a
 * handler's `onUpstream` hook and to every event about it. `data` is the application's own slot (e.g.
 * its per-upstream metrics), never read by the dispatcher.
 *
 * @example
 * lb.on('upstreamAdded', (upstream) => { upstream.data = metrics.upstream(upstream.name); });
 */
export interface Upstream<D = unknown> {
  /** `host:port` (or the name given); `ADDRESS:PORT` or `TARGET:PORT` for a discovered one. */
  readonly name: string;
  /** Where requests go: `protocol//host:port`. */
  readonly url: string;
  /** The current weight. */
  readonly weight: number;
  /** The discovery URL that found it (`dns+http://NAME:PORT`, ...), or `null` for a fixed one. */
  readonly discoveredFrom: string | null;
  /** The application's slot; `undefined` until the application sets it. */
  data: D | undefined;
}

/** One upstream in `status()`: a plain, JSON-ready snapshot. */
export interface UpstreamStatus {
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  /** See {@link UpstreamState}. */
  readonly state: UpstreamState;
  /** What `setState` set last (`'ready'` unless changed). */
  readonly adminState: AdminState;
  /**
   * Whether its health is good: its probes pass (or, without health checks, no connect failure keeps it
   * out). Being in rotation also needs `state` `up`.
   */
  readonly healthy: boolean;
  /** Requests sent to it and not finished yet. */
  readonly inFlight: number;
  /** Requests sent to it so far (each retry counts on the upstream it went to). */
  readonly requests: number;
  /** Failed exchanges so far: connect errors, resets, timeouts and 5xx answers. */
  readonly failures: number;
  /** Failed exchanges in a row (a success resets it, so does an ejection). */
  readonly consecutiveFailures: number;
  /** Times outlier detection ejected it (less one per `maxEjectionMs` spent back in rotation). */
  readonly ejections: number;
  /** End of the current ejection, in milliseconds since the epoch, or `null`. */
  readonly ejectedUntil: number | null;
  /** When it was last probed, in milliseconds since the epoch, or `null`. */
  readonly lastProbeAt: number | null;
  /** The last probe's outcome, or `null`. */
  readonly lastProbeResult: ProbeOutcome | null;
  /**
   * The latest failure seen: a probe's error, or the connect error that took it down; cleared by a good
   * probe. `null` when there is none.
   */
  readonly lastError: string | null;
  /** The discovery URL that found it, or `null`. */
  readonly discoveredFrom: string | null;
}

/** The application's view of an upstream (see {@link Upstream}). */
export class UpstreamHandle<D> implements Upstream<D> {
  readonly name: string;
  readonly url: string;
  weight: number;
  readonly discoveredFrom: string | null;
  data: D | undefined = undefined;

  constructor(name: string, url: string, weight: number, discoveredFrom: string | null) {
    this.name = name;
    this.url = url;
    this.weight = weight;
    this.discoveredFrom = discoveredFrom;
  }
}

/** Sends one health probe for an upstream. */
export type Prober = (target: HttpTarget, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * Everything the dispatcher keeps on one upstream. It is the balancers' target (`key`, `weight`), so a
 * pick hands back the entry itself with its pool: nothing is looked up per request.
 */
export class UpstreamEntry<D> implements OutlierSubject {
  readonly key: string;
  weight: number;
  readonly handle: UpstreamHandle<D>;
  readonly pool: Pool;
  /** Target of its health probes: the address to connect to. */
  probeTarget: HttpTarget;
  readonly prober: Prober;
  /** The weight discovery gave it last. */
  discoveredWeight: number;

  adminState: AdminState = 'ready';
  healthy: boolean;
  /** Left the set: drained, then dropped once idle. */
  removing = false;
  state: UpstreamState;
  /** Ends a connect failure's time out of rotation when there are no health checks. */
  passiveTimer: NodeJS.Timeout | undefined = undefined;

  inFlight = 0;
  requests = 0;
  failures = 0;
  consecutiveFailures = 0;
  ejected = false;
  ejectedUntil: number | null = null;
  ejections = 0;
  restoredAt: number | null = null;
  ejectionTimer: NodeJS.Timeout | undefined = undefined;

  lastProbeAt: number | null = null;
  lastProbeResult: ProbeOutcome | null = null;
  lastError: string | null = null;

  constructor(init: {
    handle: UpstreamHandle<D>;
    pool: Pool;
    probeTarget: HttpTarget;
    prober: Prober;
    healthy: boolean;
  }) {
    this.handle = init.handle;
    this.key = init.handle.name;
    this.weight = init.handle.weight;
    this.discoveredWeight = init.handle.weight;
    this.pool = init.pool;
    this.probeTarget = init.probeTarget;
    this.prober = init.prober;
    this.healthy = init.healthy;
    this.state = this.computeState();
  }

  /** Whether `pick()` may hand it out (a weight of 0 is left to the rotation). */
  get pickable(): boolean {
    return this.healthy && !this.ejected && !this.removing && this.adminState === 'ready';
  }

  computeState(): UpstreamState {
    if (this.adminState === 'maint') return 'maint';
    if (this.adminState === 'drain' || this.removing) return 'draining';
    if (!this.healthy) return 'down';
    if (this.ejected) return 'ejected';
    return 'up';
  }

  setWeight(weight: number): void {
    this.weight = weight;
    this.handle.weight = weight;
  }

  status(): UpstreamStatus {
    return {
      name: this.key,
      url: this.handle.url,
      weight: this.weight,
      state: this.state,
      adminState: this.adminState,
      healthy: this.healthy,
      inFlight: this.inFlight,
      requests: this.requests,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      ejections: this.ejections,
      ejectedUntil: this.ejectedUntil,
      lastProbeAt: this.lastProbeAt,
      lastProbeResult: this.lastProbeResult,
      lastError: this.lastError,
      discoveredFrom: this.handle.discoveredFrom,
    };
  }
}
