import { Resolver } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Balancer, HealthChecker, httpProbe } from '@roundguard/balancer';
import { Pool, type Dispatcher } from 'undici';
import { FAILURE, SUCCESS, type AttemptOwner, type Outcome } from './attempt.js';
import { DnsDiscovery, type DiscoveredUpstream, type DiscoverySink } from './discovery.js';
import type { FoundAddress } from './dns-lookup.js';
import { DispatcherError, describe } from './errors.js';
import type { BalancedDispatcherEvents, DnsLookupEvent } from './events.js';
import type { Settings } from './options.js';
import { OutlierDetector } from './outlier-detection.js';
import {
  UpstreamEntry,
  UpstreamHandle,
  type AdminState,
  type Prober,
  type UpstreamStatus,
} from './upstream.js';
import { MAX_WEIGHT, type ParsedSpec, type StaticSpec } from './upstream-spec.js';

/** Emits one of the dispatcher's events (listener errors are the emitter's business). */
export type Emit<D> = <K extends keyof BalancedDispatcherEvents<D>>(
  event: K,
  ...args: BalancedDispatcherEvents<D>[K]
) => void;

/** The addresses a discovered upstream's connections go to, read by its pool at each new connection. */
interface Pinned {
  addresses: readonly FoundAddress[];
}

const ADMIN_STATES: ReadonlySet<unknown> = new Set<AdminState>(['ready', 'drain', 'maint']);

/**
 * The upstreams of one dispatcher, their states and their rotation: everything but `dispatch()` itself.
 *
 * Two balancers are composed here. The rotation's "healthy" flag means "pickable" (healthy, not ejected,
 * not draining, not in maintenance), so `pick()` stays one O(1) call whatever the mix of states. The
 * health balancer is what the health checker probes and flips; it holds only the upstreams that are
 * probed (not in maintenance, not leaving).
 */
export class UpstreamRegistry<D> implements AttemptOwner<D>, DiscoverySink {
  readonly retryAttempts: number;
  readonly #settings: Settings;
  readonly #owner: Dispatcher;
  readonly #emit: Emit<D>;
  #entries = new Map<string, UpstreamEntry<D>>();
  readonly #rotation = new Balancer<UpstreamEntry<D>>([], { initialHealth: 'down' });
  readonly #health: Balancer<UpstreamEntry<D>> | null = null;
  readonly #checker: HealthChecker<UpstreamEntry<D>> | null = null;
  readonly #outlier: OutlierDetector<UpstreamEntry<D>> | null = null;
  readonly #staticProber: Prober | null = null;
  readonly #sources = new Map<string, DnsDiscovery>();
  /** Discovery URLs given to the constructor whose first lookup has not been applied yet. */
  readonly #firstPending = new Set<string>();
  #resolver: Resolver | null = null;
  /** Pools of removed upstreams, closing. */
  readonly #closing = new Set<Promise<void>>();
  #stopped = false;
  /** Settles when the first lookup of every discovery URL given to the constructor was applied. */
  readonly ready: Promise<void>;

  constructor(settings: Settings, parsed: readonly ParsedSpec[], owner: Dispatcher, emit: Emit<D>) {
    this.#settings = settings;
    this.#owner = owner;
    this.#emit = emit;
    this.retryAttempts = settings.retryAttempts;
    const health = settings.health;
    if (health !== null) {
      this.#health = new Balancer<UpstreamEntry<D>>([], { initialHealth: 'down' });
      this.#staticProber = httpProbe({ path: health.path });
      const checker = new HealthChecker<UpstreamEntry<D>>({
        balancer: this.#health,
        probe: (entry, signal) => entry.prober(entry.probeTarget, signal),
        intervalMs: health.intervalMs,
        timeoutMs: health.timeoutMs,
        rise: health.rise,
        fall: health.fall,
      });
      checker.on('probe', (e) => {
        const entry = e.target;
        if (this.#entries.get(entry.key) !== entry) return;
        entry.lastProbeAt = e.at;
        entry.lastProbeResult = e.result;
        entry.lastError = e.error ?? null;
        this.#emit('probe', {
          upstream: entry.handle,
          result: e.result,
          error: e.error,
          durationMs: e.durationMs,
          at: e.at,
        });
      });
      checker.on('down', (e) => {
        const entry = e.target;
        if (this.#entries.get(entry.key) !== entry || !entry.healthy) return;
        entry.healthy = false;
        this.#updateRotation(entry);
        this.#emit('down', { upstream: entry.handle, reason: e.reason, cause: 'probe' });
        this.#announceState(entry);
      });
      checker.on('up', (e) => {
        const entry = e.target;
        if (this.#entries.get(entry.key) !== entry || entry.healthy) return;
        entry.healthy = true;
        this.#updateRotation(entry);
        this.#emit('up', { upstream: entry.handle, cause: 'probe' });
        this.#announceState(entry);
      });
      this.#checker = checker;
    }
    if (settings.outlier !== null) {
      this.#outlier = new OutlierDetector<UpstreamEntry<D>>(settings.outlier, {
        population: () => {
          let n = 0;
          for (const entry of this.#entries.values()) if (!entry.removing) n++;
          return n;
        },
        ejected: (entry, reason, durationMs) => {
          this.#updateRotation(entry);
          this.#emit('ejected', {
            upstream: entry.handle,
            reason,
            durationMs,
            ejectedUntil: entry.ejectedUntil as number,
            ejections: entry.ejections,
          });
          this.#announceState(entry);
        },
        restored: (entry) => {
          this.#updateRotation(entry);
          this.#emit('restored', { upstream: entry.handle, reason: 'ejection time over' });
          this.#announceState(entry);
        },
      });
    }
    this.setUpstreams(parsed, true);
    this.ready = Promise.all([...this.#sources.values()].map((s) => s.firstLookup)).then(() => {
      // Also when a first lookup ended without an answer to apply: nothing is waited for any more.
      this.#firstPending.clear();
    });
    this.#checker?.start();
  }

  /** The next upstream in rotation, or `undefined` when none can take a request. O(1). */
  pick(): UpstreamEntry<D> | undefined {
    return this.#rotation.pick();
  }

  /** Whether a discovery URL given to the constructor still waits for its first lookup. */
  get discovering(): boolean {
    return this.#firstPending.size > 0;
  }

  /** Upstreams in the set (draining ones included). */
  get size(): number {
    return this.#entries.size;
  }

  handles(): UpstreamHandle<D>[] {
    return Array.from(this.#entries.values(), (e) => e.handle);
  }

  status(): UpstreamStatus[] {
    return Array.from(this.#entries.values(), (e) => e.status());
  }

  /** Why nothing can be picked, for the error's message: `3 upstreams: 2 down, 1 maint`. */
  describeEmpty(): string {
    if (this.#entries.size === 0) {
      return this.#sources.size > 0 ? 'no upstream discovered' : 'no upstream configured';
    }
    const counts = new Map<string, number>();
    for (const entry of this.#entries.values()) {
      const why = entry.state === 'up' ? 'weight 0' : entry.state;
      counts.set(why, (counts.get(why) ?? 0) + 1);
    }
    const parts = [...counts].map(([why, n]) => `${n} ${why}`);
    return `${this.#entries.size} upstream${this.#entries.size === 1 ? '' : 's'}: ${parts.join(', ')}`;
  }

  // --- the set -------------------------------------------------------------------------------------

  /**
   * Replaces the set. Upstreams that stay keep their state and pool; new ones join after their first
   * good probe (at once when `initial`, or without health checks); the others are drained, then dropped.
   */
  setUpstreams(parsed: readonly ParsedSpec[], initial: boolean): void {
    if (this.#stopped) return;
    const added: UpstreamEntry<D>[] = [];
    const wantedSources = new Set<string>();
    const startSources: DnsDiscovery[] = [];
    for (const spec of parsed) {
      if (spec.kind === 'static') continue;
      wantedSources.add(spec.source);
      const source = this.#sources.get(spec.source);
      if (source === undefined) {
        const discovery = new DnsDiscovery(spec, this.#ensureResolver(), this.#settings.dnsRefreshMs, this);
        this.#sources.set(spec.source, discovery);
        if (initial) this.#firstPending.add(spec.source);
        startSources.push(discovery);
      } else if (spec.kind === 'dns') {
        source.setWeight(spec.weight);
        for (const entry of this.#entries.values()) {
          if (entry.handle.discoveredFrom === spec.source && entry.weight !== spec.weight) {
            entry.discoveredWeight = spec.weight;
            entry.setWeight(spec.weight);
          }
        }
      }
    }
    for (const [name, source] of this.#sources) {
      if (wantedSources.has(name)) continue;
      source.stop();
      this.#sources.delete(name);
      this.#firstPending.delete(name);
      for (const entry of this.#entries.values()) {
        if (entry.handle.discoveredFrom === name) this.#startRemoval(entry);
      }
    }

    const staticNames = new Set<string>();
    for (const spec of parsed) {
      if (spec.kind !== 'static') continue;
      staticNames.add(spec.name);
      const existing = this.#entries.get(spec.name);
      if (
        existing !== undefined &&
        existing.handle.discoveredFrom === null &&
        existing.handle.url === spec.url
      ) {
        if (existing.weight !== spec.weight) existing.setWeight(spec.weight);
        if (existing.removing) this.#cancelRemoval(existing);
        continue;
      }
      // The name now belongs to another upstream: the old one leaves at once (its pool still lets the
      // requests in flight finish).
      if (existing !== undefined) this.#drop(existing);
      const entry = this.#createStatic(spec, initial);
      this.#entries.set(entry.key, entry);
      added.push(entry);
    }
    for (const entry of this.#entries.values()) {
      if (entry.handle.discoveredFrom === null && !staticNames.has(entry.key)) this.#startRemoval(entry);
    }

    // Rotation order: the order given, each discovery URL's upstreams at its place, leaving ones last.
    const ordered = new Map<string, UpstreamEntry<D>>();
    for (const spec of parsed) {
      if (spec.kind === 'static') {
        const entry = this.#entries.get(spec.name);
        if (entry !== undefined) ordered.set(entry.key, entry);
      } else {
        for (const entry of this.#entries.values()) {
          if (entry.handle.discoveredFrom === spec.source && !entry.removing) ordered.set(entry.key, entry);
        }
      }
    }
    for (const entry of this.#entries.values()) if (!ordered.has(entry.key)) ordered.set(entry.key, entry);
    this.#entries = ordered;

    if (!initial) for (const entry of added) this.#emit('upstreamAdded', entry.handle);
    this.#resync();
    for (const source of startSources) source.start();
  }

  /** A discovery URL's upstreams after a lookup. */
  apply(source: string, upstreams: readonly DiscoveredUpstream[], first: boolean): void {
    if (this.#stopped || !this.#sources.has(source)) return;
    const joinAtOnce = first && this.#firstPending.has(source);
    this.#firstPending.delete(source);
    const wanted = new Map<string, DiscoveredUpstream>();
    for (const u of upstreams) wanted.set(u.name, u);
    let changed = false;
    for (const entry of this.#entries.values()) {
      if (entry.handle.discoveredFrom !== source) continue;
      const found = wanted.get(entry.key);
      if (found === undefined) {
        if (!entry.removing) {
          this.#startRemoval(entry);
          changed = true;
        }
        continue;
      }
      wanted.delete(entry.key);
      if (entry.removing) {
        this.#cancelRemoval(entry);
        changed = true;
      }
      if (found.weight !== entry.discoveredWeight) {
        entry.discoveredWeight = found.weight;
        entry.setWeight(found.weight);
        changed = true;
      }
      const pinned = this.#pinned.get(entry);
      if (pinned !== undefined && !sameAddresses(pinned.addresses, found.addresses)) {
        pinned.addresses = found.addresses;
        entry.probeTarget = { key: entry.key, url: found.probeUrl };
      }
    }
    const added: UpstreamEntry<D>[] = [];
    for (const found of wanted.values()) {
      // A name already taken (by a fixed upstream or another discovery URL) stays with its owner.
      if (this.#entries.has(found.name)) continue;
      const entry = this.#createDiscovered(source, found, joinAtOnce);
      this.#entries.set(entry.key, entry);
      added.push(entry);
      changed = true;
    }
    for (const entry of added) this.#emit('upstreamAdded', entry.handle);
    if (changed) this.#resync();
  }

  /** A discovery lookup happened. */
  lookup(event: DnsLookupEvent): void {
    if (!this.#stopped) this.#emit('dnsLookup', event);
  }

  setState(name: string, state: AdminState): UpstreamStatus {
    if (!ADMIN_STATES.has(state)) {
      throw new DispatcherError(
        'ERR_DISPATCHER_INVALID_STATE',
        `Expected \`state\` to be \`'ready'\`, \`'drain'\` or \`'maint'\`, got ${describe(state)}`,
      );
    }
    const entry = this.#get(name);
    if (entry.adminState !== state) {
      const leavingMaint = entry.adminState === 'maint';
      entry.adminState = state;
      if (this.#health !== null && (leavingMaint || state === 'maint')) {
        // Back from maintenance, it was not probed for a while: it takes traffic after a good probe.
        if (leavingMaint) entry.healthy = false;
        this.#resync();
      } else {
        this.#refresh(entry);
      }
    }
    return entry.status();
  }

  setWeight(name: string, weight: number): UpstreamStatus {
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      throw new DispatcherError(
        'ERR_DISPATCHER_INVALID_WEIGHT',
        `Expected \`weight\` to be an integer from 0 to ${MAX_WEIGHT}, got ${describe(weight)}`,
      );
    }
    const entry = this.#get(name);
    if (entry.weight !== weight) {
      entry.setWeight(weight);
      this.#rotation.setTargets(this.#entries.values());
    }
    return entry.status();
  }

  #get(name: string): UpstreamEntry<D> {
    const entry = typeof name === 'string' ? this.#entries.get(name) : undefined;
    if (entry === undefined) {
      throw new DispatcherError(
        'ERR_DISPATCHER_UNKNOWN_UPSTREAM',
        `Expected the name of an upstream in the set, got ${describe(name)}`,
      );
    }
    return entry;
  }

  // --- accounting (AttemptOwner) -------------------------------------------------------------------

  settle(entry: UpstreamEntry<D>, outcome: Outcome, reason: string): void {
    entry.inFlight--;
    if (outcome === FAILURE) {
      entry.failures++;
      if (this.#outlier !== null && !entry.removing) this.#outlier.failure(entry, reason);
      else entry.consecutiveFailures++;
    } else if (outcome === SUCCESS) {
      entry.consecutiveFailures = 0;
    }
    if (entry.removing && entry.inFlight === 0) this.#drop(entry);
  }

  connectFailed(entry: UpstreamEntry<D>, reason: string): void {
    entry.lastError = reason;
    if (!entry.healthy || entry.removing || this.#stopped) return;
    entry.healthy = false;
    const health = this.#health;
    if (health !== null) {
      // Back at its next good probe: the checker sees it down in the health balancer.
      health.markDown(entry.key, reason);
    } else {
      const timer = setTimeout(() => {
        entry.passiveTimer = undefined;
        if (this.#entries.get(entry.key) !== entry || entry.healthy || this.#stopped) return;
        entry.healthy = true;
        this.#updateRotation(entry);
        this.#emit('up', { upstream: entry.handle, cause: 'timer' });
        this.#announceState(entry);
      }, this.#settings.passiveEjectionMs);
      timer.unref();
      entry.passiveTimer = timer;
    }
    this.#updateRotation(entry);
    this.#emit('down', { upstream: entry.handle, reason, cause: 'connect_failure' });
    this.#announceState(entry);
  }

  pickRetry(failed: UpstreamEntry<D>, attempt: number, error: Error): UpstreamEntry<D> | undefined {
    if (this.#stopped) return undefined;
    let next = this.#rotation.pick();
    if (next === failed) next = this.#rotation.pick();
    if (next === undefined || next === failed) return undefined;
    this.#emit('retry', { upstream: failed.handle, next: next.handle, attempt, error });
    return next;
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  /** Stops probes, lookups and timers; then closes every pool gracefully (requests in flight finish). */
  async close(): Promise<void> {
    await this.#stop();
    const pools = Array.from(this.#entries.values(), (e) => e.pool.close().catch(() => undefined));
    await Promise.all([...pools, ...this.#closing]);
  }

  /** Stops everything and destroys every pool: requests in flight fail with `err`. */
  async destroy(err: Error | null): Promise<void> {
    await this.#stop();
    const pools = Array.from(this.#entries.values(), (e) => e.pool.destroy(err).catch(() => undefined));
    await Promise.all([...pools, ...this.#closing]);
  }

  async #stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const source of this.#sources.values()) source.stop();
    this.#resolver?.cancel();
    this.#outlier?.stop();
    for (const entry of this.#entries.values()) {
      if (entry.passiveTimer !== undefined) clearTimeout(entry.passiveTimer);
      entry.passiveTimer = undefined;
    }
    await this.#checker?.stop();
  }

  // --- internals -----------------------------------------------------------------------------------

  /** Pinned addresses of discovered upstreams (their pools read them at each connection). */
  readonly #pinned = new WeakMap<UpstreamEntry<D>, Pinned>();

  #ensureResolver(): Resolver {
    if (this.#resolver === null) {
      const resolver = new Resolver({ timeout: this.#settings.dnsTimeoutMs, tries: 2 });
      if (this.#settings.dnsServers !== null) resolver.setServers(this.#settings.dnsServers);
      this.#resolver = resolver;
    }
    return this.#resolver;
  }

  #createStatic(spec: StaticSpec, initial: boolean): UpstreamEntry<D> {
    const handle = new UpstreamHandle<D>(spec.name, spec.url, spec.weight, null);
    const pool = new Pool(spec.url, this.#settings.pool);
    this.#forwardEvents(pool);
    return new UpstreamEntry<D>({
      handle,
      pool,
      probeTarget: { key: spec.name, url: spec.url },
      prober: this.#staticProber ?? unusedProber,
      healthy: initial || this.#health === null,
    });
  }

  #createDiscovered(source: string, found: DiscoveredUpstream, joinAtOnce: boolean): UpstreamEntry<D> {
    const handle = new UpstreamHandle<D>(found.name, found.url, found.weight, source);
    const pinned: Pinned = { addresses: found.addresses };
    const pool = new Pool(found.origin, this.#pinnedPoolOptions(pinned));
    this.#forwardEvents(pool);
    const health = this.#settings.health;
    const entry = new UpstreamEntry<D>({
      handle,
      pool,
      probeTarget: { key: found.name, url: found.probeUrl },
      // The probe carries the Host header that traffic to it carries.
      prober:
        health === null
          ? unusedProber
          : httpProbe({ path: health.path, headers: { host: new URL(found.origin).host } }),
      healthy: joinAtOnce || health === null,
    });
    this.#pinned.set(entry, pinned);
    return entry;
  }

  /** Pool options whose connections go to the pinned addresses, whatever the origin's name resolves to. */
  #pinnedPoolOptions(pinned: Pinned): Pool.Options {
    const base = this.#settings.pool;
    const connect = base.connect;
    if (typeof connect === 'function') {
      return {
        ...base,
        connect: (options, callback) =>
          connect({ ...options, hostname: pinned.addresses[0]?.address ?? options.hostname }, callback),
      };
    }
    return { ...base, connect: { ...connect, lookup: pinnedLookup(pinned) } };
  }

  #forwardEvents(pool: Pool): void {
    const owner = this.#owner;
    pool.on('connect', (origin, targets) => owner.emit('connect', origin, [owner, ...targets]));
    pool.on('disconnect', (origin, targets, error) =>
      owner.emit('disconnect', origin, [owner, ...targets], error),
    );
    pool.on('connectionError', (origin, targets, error) =>
      owner.emit('connectionError', origin, [owner, ...targets], error),
    );
    pool.on('drain', (origin: URL, targets?: readonly Dispatcher[]) =>
      (owner.emit as (event: string, ...args: unknown[]) => boolean)('drain', origin, [
        owner,
        ...(targets ?? []),
      ]),
    );
  }

  #startRemoval(entry: UpstreamEntry<D>): void {
    if (entry.removing) return;
    entry.removing = true;
    if (entry.ejected) {
      this.#outlier?.forget(entry);
      entry.ejected = false;
      entry.ejectedUntil = null;
    }
  }

  #cancelRemoval(entry: UpstreamEntry<D>): void {
    entry.removing = false;
    // It stopped being probed while it was leaving: it takes traffic again after a good probe.
    if (this.#health !== null) entry.healthy = false;
  }

  /** Takes an upstream out of the set now and closes its pool (gracefully). */
  #drop(entry: UpstreamEntry<D>): void {
    if (this.#entries.get(entry.key) === entry) {
      this.#entries.delete(entry.key);
      this.#rotation.setTargets(this.#entries.values());
      this.#health?.setTargets([...this.#health.targets()].filter((t) => t !== entry));
    }
    entry.removing = true;
    if (entry.passiveTimer !== undefined) clearTimeout(entry.passiveTimer);
    entry.passiveTimer = undefined;
    this.#outlier?.forget(entry);
    const closing = entry.pool.close().catch(() => undefined);
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
    this.#emit('upstreamRemoved', entry.handle);
  }

  /** Brings both balancers in line with the set, then every upstream's rotation and state. */
  #resync(): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.removing && entry.inFlight === 0) this.#drop(entry);
    }
    const list = [...this.#entries.values()];
    this.#rotation.setTargets(list);
    const health = this.#health;
    if (health !== null) {
      const probed = list.filter((e) => !e.removing && e.adminState !== 'maint');
      const joining = probed.filter((e) => !health.has(e.key) || health.get(e.key) !== e);
      health.setTargets(probed);
      for (const entry of joining) {
        if (entry.healthy) health.markUp(entry.key);
        else health.markDown(entry.key, 'not probed yet');
      }
    }
    for (const entry of list) this.#refresh(entry);
  }

  #updateRotation(entry: UpstreamEntry<D>): void {
    if (this.#entries.get(entry.key) !== entry) return;
    if (entry.pickable) this.#rotation.markUp(entry.key);
    else this.#rotation.markDown(entry.key, entry.computeState());
  }

  #announceState(entry: UpstreamEntry<D>): void {
    const state = entry.computeState();
    if (state === entry.state) return;
    const from = entry.state;
    entry.state = state;
    this.#emit('stateChange', { upstream: entry.handle, from, to: state });
  }

  #refresh(entry: UpstreamEntry<D>): void {
    this.#updateRotation(entry);
    this.#announceState(entry);
  }
}

/** The prober of upstreams when there are no health checks (never called). */
const unusedProber: Prober = () => Promise.resolve({ ok: true });

function sameAddresses(a: readonly FoundAddress[], b: readonly FoundAddress[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if ((a[i] as FoundAddress).address !== (b[i] as FoundAddress).address) return false;
  return true;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `net.connect` that answers with the pinned addresses: the pool's origin carries the
 * discovery name (for `Host` and TLS), its connections go to the address discovery found.
 */
function pinnedLookup(pinned: Pinned) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const family = options.family;
    const list =
      family === 4 || family === 6 ? pinned.addresses.filter((a) => a.family === family) : pinned.addresses;
    process.nextTick(() => {
      const first = list[0];
      if (first === undefined) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        err.syscall = 'getaddrinfo';
        callback(err, '', 0);
      } else if (options.all === true) {
        callback(
          null,
          list.map((a) => ({ address: a.address, family: a.family })),
        );
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}
