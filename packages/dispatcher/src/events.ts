import type { ProbeOutcome } from '@roundguard/balancer';
import type { Upstream, UpstreamState } from './upstream.js';

/** `probe`: one health probe's outcome, before any change of health it causes. */
export interface ProbeEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  /** `'ok'`, or why it failed: `'bad_status'`, `'error'` or `'timeout'`. */
  readonly result: ProbeOutcome;
  /** The failure (`'HTTP 500'`, `'ECONNREFUSED'`, `'timeout after 1000 ms'`); `undefined` when ok. */
  readonly error: string | undefined;
  /** Time from the probe's start to its outcome, in milliseconds. */
  readonly durationMs: number;
  /** When the probe started, in milliseconds since the epoch. */
  readonly at: number;
}

/** `down`: an upstream's health went bad. */
export interface DownEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  /** What happened: a probe's error (`'HTTP 503'`) or the connect error (`'ECONNREFUSED'`). */
  readonly reason: string;
  /** `'probe'` (health checks) or `'connect_failure'` (a request could not connect: passive ejection). */
  readonly cause: 'probe' | 'connect_failure';
}

/** `up`: an upstream's health is good again. */
export interface UpEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  /** `'probe'` (a good probe), or `'timer'` (no health checks: the time out after a connect failure ended). */
  readonly cause: 'probe' | 'timer';
}

/** `ejected`: outlier detection took an upstream out. */
export interface EjectedEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  /** Why: `'5 failures in a row, the last: HTTP 503'`. */
  readonly reason: string;
  /** How long, in milliseconds. */
  readonly durationMs: number;
  /** Until when, in milliseconds since the epoch. */
  readonly ejectedUntil: number;
  /** Its ejection count, this one included. */
  readonly ejections: number;
}

/** `restored`: an upstream's ejection ended. */
export interface RestoredEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  /** Why it is back: `'ejection time over'`. */
  readonly reason: string;
}

/** `stateChange`: an upstream's {@link UpstreamState} changed (added upstreams start with no event). */
export interface StateChangeEvent<D = unknown> {
  readonly upstream: Upstream<D>;
  readonly from: UpstreamState;
  readonly to: UpstreamState;
}

/** `retry`: a request that could not connect to `upstream` is sent again, to `next`. */
export interface RetryEvent<D = unknown> {
  /** The upstream the request could not reach. */
  readonly upstream: Upstream<D>;
  /** The upstream it goes to now. */
  readonly next: Upstream<D>;
  /** 1 for the first retry of this request, 2 for the second, ... */
  readonly attempt: number;
  /** The connect error. */
  readonly error: Error;
}

/** `dnsLookup`: one lookup of a discovery URL. */
export interface DnsLookupEvent {
  /** The discovery URL (`dns+http://NAME:PORT`, `dnssrv+http://NAME`). */
  readonly source: string;
  /** The DNS name looked up. */
  readonly name: string;
  /** `'A/AAAA'` for `dns+`, `'SRV'` for `dnssrv+` (whose targets' A/AAAA lookups are part of it). */
  readonly type: 'A/AAAA' | 'SRV';
  /**
   * `'ok'`: records found; `'empty'`: an authoritative "none" (NXDOMAIN or no records), the set is now
   * empty; `'error'`: the lookup failed (timeout, SERVFAIL, refused, ...) and what could not be looked up
   * keeps its last known upstreams.
   */
  readonly result: 'ok' | 'empty' | 'error';
  /** The DNS error code (`'ESERVFAIL'`, `'ETIMEOUT'`, ...) when `result` is `'error'`. */
  readonly error: string | undefined;
  /** The upstreams the source has after this lookup (`ADDRESS:PORT` or `TARGET:PORT`). */
  readonly upstreams: readonly string[];
  /** The smallest TTL among the address records found, in seconds; `null` when none was found. */
  readonly ttl: number | null;
  /** Time the lookup took, in milliseconds. */
  readonly durationMs: number;
}

/**
 * The dispatcher's own events (besides undici's `connect`, `disconnect`, `connectionError` and `drain`,
 * which it forwards from its pools). Listeners run synchronously; one that throws does not break the
 * dispatcher (its error is rethrown asynchronously, as an uncaught exception).
 */
export interface BalancedDispatcherEvents<D = unknown> {
  probe: [event: ProbeEvent<D>];
  down: [event: DownEvent<D>];
  up: [event: UpEvent<D>];
  ejected: [event: EjectedEvent<D>];
  restored: [event: RestoredEvent<D>];
  stateChange: [event: StateChangeEvent<D>];
  retry: [event: RetryEvent<D>];
  dnsLookup: [event: DnsLookupEvent];
  /** An upstream joined the set after construction (by `setUpstreams` or discovery). */
  upstreamAdded: [upstream: Upstream<D>];
  /** An upstream left the set: it was removed and its requests in flight are done. */
  upstreamRemoved: [upstream: Upstream<D>];
}
