import type { Resolver } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { lookupAddresses, lookupServices, type Answer, type FoundAddress } from './dns-lookup.js';
import type { DnsLookupEvent } from './events.js';
import type { DnsSpec, SrvSpec } from './upstream-spec.js';
import { hostPort } from './upstream-spec.js';

/** One upstream a discovery source found. */
export interface DiscoveredUpstream {
  /** `ADDRESS:PORT` (A/AAAA) or `TARGET:PORT` (SRV). */
  readonly name: string;
  /** Where it is: `protocol//ADDRESS:PORT` or `protocol//TARGET:PORT`. */
  readonly url: string;
  /**
   * The origin its pool is created with, `protocol//NAME:PORT`: undici sends it as `Host` (unless the
   * request has one) and as the TLS server name; its connections go to `addresses`.
   */
  readonly origin: string;
  readonly weight: number;
  /** The addresses its connections go to (one for A/AAAA; every address of the target for SRV). */
  readonly addresses: readonly FoundAddress[];
  /** Where its health probes go: `protocol//ADDRESS:PORT` (the first address). */
  readonly probeUrl: string;
}

/** Where a discovery source reports. */
export interface DiscoverySink {
  /** The source's upstreams after a lookup (the same set again when nothing changed). */
  apply(source: string, upstreams: readonly DiscoveredUpstream[], first: boolean): void;
  /** Every lookup, for the application's logs and metrics. */
  lookup(event: DnsLookupEvent): void;
}

/**
 * One discovery URL, looked up every `refreshMs` (from the start of one lookup to the start of the next;
 * lookups never overlap). What a lookup could not learn (a failed query) keeps its last known answer;
 * an authoritative "none" clears it.
 */
export class DnsDiscovery {
  readonly spec: DnsSpec | SrvSpec;
  readonly #resolver: Resolver;
  readonly #refreshMs: number;
  readonly #sink: DiscoverySink;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #first = true;
  #weight: number;
  /** dns+: the last known addresses of each family. */
  #v4: readonly FoundAddress[] = [];
  #v6: readonly FoundAddress[] = [];
  /** dnssrv+: the last known upstreams, and the last known addresses of each target. */
  #services: readonly DiscoveredUpstream[] = [];
  #targets = new Map<string, readonly FoundAddress[]>();
  /** Settles when the first lookup has been applied. */
  readonly firstLookup: Promise<void>;
  #resolveFirst!: () => void;

  constructor(spec: DnsSpec | SrvSpec, resolver: Resolver, refreshMs: number, sink: DiscoverySink) {
    this.spec = spec;
    this.#resolver = resolver;
    this.#refreshMs = refreshMs;
    this.#sink = sink;
    this.#weight = spec.kind === 'dns' ? spec.weight : 1;
    this.firstLookup = new Promise<void>((resolve) => {
      this.#resolveFirst = resolve;
    });
  }

  /** Starts looking up (the first lookup at once). */
  start(): void {
    this.#run();
  }

  /** Stops: no further lookup is applied or scheduled. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resolveFirst();
  }

  /** A new weight for every upstream of a `dns+` source (applied now and by later lookups). */
  setWeight(weight: number): void {
    this.#weight = weight;
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const started = performance.now();
    const lookup =
      this.spec.kind === 'dns' ? this.#lookupAddresses(this.spec) : this.#lookupServices(this.spec);
    void lookup
      .then(
        (event) => {
          if (this.#stopped) return;
          const first = this.#first;
          this.#first = false;
          const upstreams = this.current();
          this.#sink.apply(this.spec.source, upstreams, first);
          this.#sink.lookup({ ...event, durationMs: performance.now() - started });
        },
        (err: unknown) => {
          // A bug, not a DNS answer: report it as a failed lookup and keep what is known.
          if (this.#stopped) return;
          this.#first = false;
          this.#sink.lookup({
            source: this.spec.source,
            name: this.spec.hostname,
            type: this.spec.kind === 'dns' ? 'A/AAAA' : 'SRV',
            result: 'error',
            error: err instanceof Error ? err.message : String(err),
            upstreams: this.current().map((u) => u.name),
            ttl: null,
            durationMs: performance.now() - started,
          });
        },
      )
      .finally(() => {
        this.#resolveFirst();
        if (this.#stopped) return;
        const wait = Math.max(0, started + this.#refreshMs - performance.now());
        const timer = setTimeout(() => this.#run(), wait);
        timer.unref();
        this.#timer = timer;
      })
      .catch((err: unknown) => {
        // Thrown by the sink (the dispatcher's own code): surface it, as a listener's error would be.
        queueMicrotask(() => {
          throw err;
        });
      });
  }

  /** The upstreams of the source as last known. */
  current(): DiscoveredUpstream[] {
    const spec = this.spec;
    if (spec.kind === 'srv') return [...this.#services];
    const origin = `${spec.protocol}//${hostPort(spec.hostname, spec.port)}`;
    const seen = new Set<string>();
    const out: DiscoveredUpstream[] = [];
    for (const found of [...this.#v4, ...this.#v6]) {
      const name = hostPort(found.address, spec.port);
      if (seen.has(name)) continue;
      seen.add(name);
      const url = `${spec.protocol}//${name}`;
      out.push({ name, url, origin, weight: this.#weight, addresses: [found], probeUrl: url });
    }
    return out;
  }

  async #lookupAddresses(spec: DnsSpec): Promise<Omit<DnsLookupEvent, 'durationMs'>> {
    const { v4, v6 } = await lookupAddresses(this.#resolver, spec.hostname);
    const errors: string[] = [];
    this.#v4 = settle(v4, this.#v4, errors);
    this.#v6 = settle(v6, this.#v6, errors);
    const found = [...this.#v4, ...this.#v6];
    return {
      source: spec.source,
      name: spec.hostname,
      type: 'A/AAAA',
      result: errors.length > 0 ? 'error' : found.length === 0 ? 'empty' : 'ok',
      error: errors.length > 0 ? [...new Set(errors)].join(', ') : undefined,
      upstreams: this.current().map((u) => u.name),
      ttl: smallestTtl(found),
    };
  }

  async #lookupServices(spec: SrvSpec): Promise<Omit<DnsLookupEvent, 'durationMs'>> {
    const answer = await lookupServices(this.#resolver, spec.hostname);
    const event = (result: DnsLookupEvent['result'], error: string | undefined, ttl: number | null) => ({
      source: spec.source,
      name: spec.hostname,
      type: 'SRV' as const,
      result,
      error,
      upstreams: this.#services.map((u) => u.name),
      ttl,
    });
    if (answer.kind === 'error') return event('error', answer.code, null);
    if (answer.kind === 'empty') {
      this.#services = [];
      this.#targets = new Map();
      return event('empty', undefined, null);
    }
    // RFC 2782: only the lowest priority is used; the others are backups.
    let lowest = Infinity;
    for (const r of answer.records) if (r.target !== '' && r.priority < lowest) lowest = r.priority;
    const records = answer.records.filter((r) => r.target !== '' && r.priority === lowest);
    const targets = [...new Set(records.map((r) => r.target))];
    const lookups = await Promise.all(targets.map((t) => lookupAddresses(this.#resolver, t)));
    const errors: string[] = [];
    const known = new Map<string, readonly FoundAddress[]>();
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i] as string;
      const { v4, v6 } = lookups[i] as Awaited<ReturnType<typeof lookupAddresses>>;
      const last = this.#targets.get(target) ?? [];
      const targetErrors: string[] = [];
      const addresses = [
        ...settle(
          v4,
          last.filter((a) => a.family === 4),
          targetErrors,
        ),
        ...settle(
          v6,
          last.filter((a) => a.family === 6),
          targetErrors,
        ),
      ];
      for (const e of targetErrors) errors.push(`${target}: ${e}`);
      if (addresses.length > 0) known.set(target, addresses);
    }
    this.#targets = known;
    const services: DiscoveredUpstream[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      const addresses = known.get(r.target);
      if (addresses === undefined) continue;
      const name = `${r.target}:${r.port}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const url = `${spec.protocol}//${name}`;
      const first = addresses[0] as FoundAddress;
      services.push({
        name,
        url,
        origin: url,
        // RFC 2782 weight 0 means "no preference" when it is alone: it counts as 1 here.
        weight: Math.max(1, r.weight),
        addresses,
        probeUrl: `${spec.protocol}//${hostPort(first.address, r.port)}`,
      });
    }
    this.#services = services;
    const ttl = smallestTtl([...known.values()].flat());
    if (errors.length > 0) return event('error', [...new Set(errors)].join(', '), ttl);
    return event(services.length === 0 ? 'empty' : 'ok', undefined, ttl);
  }
}

/** The addresses of one family after an answer: new records, none, or (on a failure) the last known. */
function settle(
  answer: Answer<FoundAddress>,
  last: readonly FoundAddress[],
  errors: string[],
): readonly FoundAddress[] {
  if (answer.kind === 'records') return answer.records;
  if (answer.kind === 'empty') return [];
  errors.push(answer.code);
  return last;
}

function smallestTtl(found: readonly FoundAddress[]): number | null {
  let ttl: number | null = null;
  for (const f of found) if (ttl === null || f.ttl < ttl) ttl = f.ttl;
  return ttl;
}
