import type { Resolver } from 'node:dns/promises';

/** One address found for a name. */
export interface FoundAddress {
  readonly address: string;
  readonly family: 4 | 6;
  /** Seconds, from the record. */
  readonly ttl: number;
}

/** One SRV record. */
export interface FoundService {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * What one query said: records, an authoritative "none" (`empty`: NXDOMAIN, or the name has no record of
 * that type), or a failure (`error`: timeout, SERVFAIL, refused, no server reachable, ...).
 */
export type Answer<T> =
  | { readonly kind: 'records'; readonly records: readonly T[] }
  | { readonly kind: 'empty' }
  | { readonly kind: 'error'; readonly code: string };

/** The c-ares codes of an authoritative "none": NXDOMAIN, and NOERROR with no answer. */
const NONE_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA']);

function failure(err: unknown): Answer<never> {
  const code =
    err !== null && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'string'
      ? (err as { code: string }).code
      : String(err);
  return NONE_CODES.has(code) ? { kind: 'empty' } : { kind: 'error', code };
}

/** A and AAAA records of `name`, with their TTLs, queried at the same time. */
export async function lookupAddresses(
  resolver: Resolver,
  name: string,
): Promise<{ readonly v4: Answer<FoundAddress>; readonly v6: Answer<FoundAddress> }> {
  const [v4, v6] = await Promise.all([
    resolver.resolve4(name, { ttl: true }).then(
      (records): Answer<FoundAddress> => ({
        kind: 'records',
        records: records.map((r) => ({ address: r.address, family: 4, ttl: r.ttl })),
      }),
      failure,
    ),
    resolver.resolve6(name, { ttl: true }).then(
      (records): Answer<FoundAddress> => ({
        kind: 'records',
        records: records.map((r) => ({ address: r.address, family: 6, ttl: r.ttl })),
      }),
      failure,
    ),
  ]);
  return { v4, v6 };
}

/** SRV records of `name`. */
export async function lookupServices(resolver: Resolver, name: string): Promise<Answer<FoundService>> {
  return resolver.resolveSrv(name).then(
    (records): Answer<FoundService> => ({
      kind: 'records',
      records: records.map((r) => ({
        target: r.name.endsWith('.') ? r.name.slice(0, -1) : r.name,
        port: r.port,
        priority: r.priority,
        weight: r.weight,
      })),
    }),
    failure,
  );
}
