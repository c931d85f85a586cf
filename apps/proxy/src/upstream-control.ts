// The changes the admin write API makes to the upstream set, on this process' dispatcher: add, remove,
// set the state (ready / drain / maint) or the weight of one upstream. The set is kept in `ctx.upstreams`
// (the config's, with these changes), so a later change keeps the earlier ones, and the next SIGHUP reload
// or a restart goes back to the config. Each change is logged (`upstream changed`) and counted
// (`roundguard_admin_changes_total{action}`). In a cluster the primary makes them; the set it pushes to
// the workers carries them (worker-ipc.ts).
import type { AdminState, UpstreamStatus } from '@roundguard/dispatcher';
import type { AdminAction } from '@roundguard/metrics';
import { AdminRefusal } from './admin-request.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamConfig } from './upstream-option.js';
import { applyUpstreamSet } from './upstreams.js';

/** A new upstream, validated: a normalized `http(s)://host:port` URL. */
export interface NewUpstream {
  readonly url: string;
  readonly weight: number;
  readonly name: string;
}

/** What a PATCH changes; at least one of them. */
export interface UpstreamChange {
  readonly state?: AdminState;
  readonly weight?: number;
}

/** The name the dispatcher gives an `http(s)://host:port` upstream given without one: `host:port`. */
function defaultName(url: string): string {
  return url.slice(url.indexOf('//') + 2);
}

/** Who made a change, for the log. */
const BY = 'admin api';

export class UpstreamControl {
  readonly #ctx: ProxyContext;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
  }

  #status(name: string): UpstreamStatus | undefined {
    return this.#ctx.dispatcher.status().find((s) => s.name === name);
  }

  /** The name of a configured (not discovered) upstream of the set. */
  #nameOf(u: UpstreamConfig): string {
    return u.name ?? defaultName(u.url);
  }

  #log(action: AdminAction, s: Pick<UpstreamStatus, 'name' | 'url'>, fields: Record<string, unknown>): void {
    this.#ctx.metrics.adminChange(action);
    this.#ctx.logger.info('upstream changed', {
      by: BY,
      action,
      upstream: s.url,
      upstream_name: s.name,
      ...fields,
    });
  }

  /** Adds an upstream: it takes traffic after its first good probe. 409 when its name or URL is taken. */
  add(u: NewUpstream): UpstreamStatus {
    const configured = new Set(this.#ctx.upstreams.map((c) => this.#nameOf(c)));
    const taken = this.#ctx.dispatcher.status().find((s) => {
      if (s.discoveredFrom !== null || configured.has(s.name)) return s.name === u.name || s.url === u.url;
      // One being removed: it may come back (same name and URL), or give its name to another URL (it
      // leaves at once), but its URL stays its own until it is gone (the metrics are by URL).
      return s.url === u.url && s.name !== u.name;
    });
    const listed = this.#ctx.upstreams.find((c) => c.url === u.url || this.#nameOf(c) === u.name);
    if (taken !== undefined || listed !== undefined) {
      const other = taken?.name ?? this.#nameOf(listed as UpstreamConfig);
      throw new AdminRefusal(
        'UPSTREAM_EXISTS',
        `an upstream with this ${other === u.name ? 'name' : 'URL'} exists: ${JSON.stringify(other)}`,
      );
    }
    const entry: UpstreamConfig = u.name === defaultName(u.url) ? { url: u.url, weight: u.weight } : { ...u };
    applyUpstreamSet(this.#ctx, [...this.#ctx.upstreams, entry]);
    const status = this.#status(u.name) as UpstreamStatus;
    this.#log('add', status, { weight: u.weight });
    return status;
  }

  /** Sets the state and/or the weight of an upstream; 404 when there is none of that name. */
  change(name: string, change: UpstreamChange): UpstreamStatus {
    const before = this.#known(name);
    const ctx = this.#ctx;
    if (change.weight !== undefined && change.weight !== before.weight) {
      ctx.dispatcher.setWeight(name, change.weight);
      // Kept in the set, so that adding or removing another upstream does not reset it.
      const weight = change.weight;
      if (ctx.upstreams.some((c) => this.#nameOf(c) === name))
        ctx.upstreams = ctx.upstreams.map((c) => (this.#nameOf(c) === name ? { ...c, weight } : c));
      this.#log('weight', before, { from: before.weight, to: change.weight });
    }
    if (change.state !== undefined && change.state !== before.adminState) {
      ctx.dispatcher.setState(name, change.state);
      this.#log(change.state, before, { from: before.adminState, to: change.state });
    }
    return this.#status(name) ?? before;
  }

  /**
   * Removes an upstream: no new requests, and it leaves once its requests in flight are done. A
   * discovered upstream cannot be removed (its DNS records would bring it back): 409.
   */
  remove(name: string): UpstreamStatus {
    const before = this.#known(name);
    if (before.discoveredFrom !== null) {
      throw new AdminRefusal(
        'UPSTREAM_DISCOVERED',
        `${JSON.stringify(name)} was discovered from ${before.discoveredFrom}: change its DNS records or the config file, or drain it`,
      );
    }
    const rest = this.#ctx.upstreams.filter((c) => this.#nameOf(c) !== name);
    if (rest.length !== this.#ctx.upstreams.length) {
      applyUpstreamSet(this.#ctx, rest);
      this.#log('remove', before, { in_flight: before.inFlight });
    }
    return before;
  }

  #known(name: string): UpstreamStatus {
    const s = this.#status(name);
    if (s === undefined)
      throw new AdminRefusal('UNKNOWN_UPSTREAM', `no upstream is named ${JSON.stringify(name)}`);
    return s;
  }
}
