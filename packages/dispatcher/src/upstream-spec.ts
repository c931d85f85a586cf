import { isIP } from 'node:net';
import { DispatcherError, describe, invalidUpstream } from './errors.js';

/** The largest weight an upstream may have (the rotation's limit). */
export const MAX_WEIGHT = 1_000_000;

/**
 * One upstream as given to the constructor or to `setUpstreams`: a URL, or an object with the URL and
 * optionally a weight and a name.
 *
 * - `http://host:port` or `https://host:port`: one upstream, named `host:port` unless `name` is given.
 * - `dns+http://NAME:PORT` (or `dns+https://`): every address in NAME's A and AAAA records is one
 *   upstream named `ADDRESS:PORT`; `weight` applies to each of them.
 * - `dnssrv+http://_SERVICE._tcp.NAME` (or `dnssrv+https://`): every SRV record of that name is one
 *   upstream named `TARGET:PORT`, weighted by the record's weight.
 *
 * @example
 * 'http://127.0.0.1:3001'
 * { url: 'http://127.0.0.1:3002', weight: 2, name: 'blue' }
 * 'dns+http://orders.default.svc.cluster.local:8080'
 * 'dnssrv+http://_http._tcp.orders.default.svc.cluster.local'
 */
export type UpstreamSpec = string | UpstreamObject;

/** The object form of {@link UpstreamSpec}. */
export interface UpstreamObject {
  /** The upstream's URL (see {@link UpstreamSpec}). */
  readonly url: string;
  /**
   * Share of requests, an integer from 0 to 1,000,000 (nginx's smooth weighted round robin); 0 keeps the
   * upstream out of rotation. Not allowed for `dnssrv+` URLs (the records carry the weights).
   *
   * @default 1
   */
  readonly weight?: number;
  /**
   * The upstream's name in `status()`, events and `setState`/`setWeight`. Only for `http(s)://` URLs:
   * discovered upstreams are named after their address.
   *
   * @default 'host:port' of the URL
   */
  readonly name?: string;
}

export type Protocol = 'http:' | 'https:';

/** A fixed upstream. */
export interface StaticSpec {
  readonly kind: 'static';
  readonly name: string;
  /** `protocol//host:port`, the port always written. */
  readonly url: string;
  readonly weight: number;
}

/** A `dns+` discovery source. */
export interface DnsSpec {
  readonly kind: 'dns';
  /** `dns+protocol//name:port`, normalized: the source's identity. */
  readonly source: string;
  readonly protocol: Protocol;
  readonly hostname: string;
  readonly port: number;
  readonly weight: number;
}

/** A `dnssrv+` discovery source. */
export interface SrvSpec {
  readonly kind: 'srv';
  /** `dnssrv+protocol//name`, normalized: the source's identity. */
  readonly source: string;
  readonly protocol: Protocol;
  readonly hostname: string;
}

export type ParsedSpec = StaticSpec | DnsSpec | SrvSpec;

const OBJECT_KEYS: ReadonlySet<string> = new Set(['url', 'weight', 'name']);
const DISCOVERY = /^(dns|dnssrv)\+(.*)$/is;
/** A port written after the host of a URL whose host is a name (not an IPv6 address). */
const EXPLICIT_PORT = /^[a-z]+:\/\/[^/[\]]*:\d*(?:\/|$)/i;
const BAD_NAME = /[\s\p{Cc}]/u;

/** Default port of a protocol. */
export function defaultPort(protocol: Protocol): number {
  return protocol === 'https:' ? 443 : 80;
}

/** `host:port` with IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Validates and normalizes a set of upstreams. Throws on the first bad one, naming it.
 *
 * @throws {DispatcherError} `ERR_DISPATCHER_INVALID_UPSTREAM` or `ERR_DISPATCHER_DUPLICATE_UPSTREAM`.
 */
export function parseUpstreams(upstreams: unknown, what: string): ParsedSpec[] {
  if (
    upstreams === null ||
    upstreams === undefined ||
    typeof upstreams === 'string' ||
    typeof (upstreams as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    invalidUpstream(`\`${what}\``, 'an array of upstream URLs or `{ url, weight, name }` objects', upstreams);
  }
  const out: ParsedSpec[] = [];
  const names = new Set<string>();
  let index = 0;
  for (const item of upstreams as Iterable<unknown>) {
    const spec = parseUpstream(item, `${what}[${index}]`);
    const id = spec.kind === 'static' ? spec.name : spec.source;
    if (names.has(id)) {
      throw new DispatcherError(
        'ERR_DISPATCHER_DUPLICATE_UPSTREAM',
        `Expected unique upstream names and discovery URLs in \`${what}\`, got ${describe(id)} twice`,
      );
    }
    names.add(id);
    out.push(spec);
    index++;
  }
  return out;
}

/** Validates one upstream; `what` names it in messages (`upstreams[2]`). */
export function parseUpstream(item: unknown, what: string): ParsedSpec {
  let url: unknown;
  let weight: unknown;
  let name: unknown;
  if (typeof item === 'string') {
    url = item;
  } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    for (const key of Object.keys(item)) {
      if (!OBJECT_KEYS.has(key)) {
        invalidUpstream(`\`${what}\``, 'an object with only `url`, `weight` and `name`', key);
      }
    }
    ({ url, weight, name } = item as { url?: unknown; weight?: unknown; name?: unknown });
  } else {
    invalidUpstream(`\`${what}\``, 'a URL string or a `{ url, weight, name }` object', item);
  }
  if (typeof url !== 'string' || url === '') invalidUpstream(`\`${what}.url\``, 'a URL string', url);
  if (
    weight !== undefined &&
    (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT)
  ) {
    invalidUpstream(`\`${what}.weight\``, `an integer from 0 to ${MAX_WEIGHT}`, weight);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '' || BAD_NAME.test(name))) {
    invalidUpstream(`\`${what}.name\``, 'a non-empty string without spaces or control characters', name);
  }

  const discovery = DISCOVERY.exec(url);
  const inner = discovery === null ? url : (discovery[2] as string);
  let parsed: URL;
  try {
    parsed = new URL(inner);
  } catch {
    invalidUpstream(`\`${what}.url\``, 'an absolute URL (`http://host:port`)', url);
  }
  const protocol = parsed.protocol;
  if (protocol !== 'http:' && protocol !== 'https:') {
    invalidUpstream(
      `\`${what}.url\``,
      'an `http://`, `https://`, `dns+http://` or `dnssrv+http://` URL',
      url,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    invalidUpstream(`\`${what}.url\``, 'a URL without user name or password', url);
  }
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '') {
    invalidUpstream(`\`${what}.url\``, 'a URL without path, query or fragment (`http://host:port`)', url);
  }
  if (parsed.port === '0') invalidUpstream(`\`${what}.url\``, 'a URL with a port from 1 to 65535', url);
  const port = parsed.port === '' ? defaultPort(protocol) : Number(parsed.port);
  let hostname = parsed.hostname;
  if (hostname.startsWith('[')) hostname = hostname.slice(1, -1);

  if (discovery === null) {
    const host = hostPort(hostname, port);
    return {
      kind: 'static',
      name: name ?? host,
      url: `${protocol}//${host}`,
      weight: weight ?? 1,
    };
  }
  if (name !== undefined) {
    invalidUpstream(
      `\`${what}.name\``,
      'absent for a discovery URL (each address is named `ADDRESS:PORT`)',
      name,
    );
  }
  if (isIP(hostname) !== 0) {
    invalidUpstream(
      `\`${what}.url\``,
      'a discovery URL with a DNS name, not an address (use `http://` for an address)',
      url,
    );
  }
  const kind = (discovery[1] as string).toLowerCase();
  if (kind === 'dns') {
    return {
      kind: 'dns',
      source: `dns+${protocol}//${hostname}:${port}`,
      protocol,
      hostname,
      port,
      weight: weight ?? 1,
    };
  }
  if (EXPLICIT_PORT.test(inner)) {
    invalidUpstream(
      `\`${what}.url\``,
      'a `dnssrv+` URL without a port (the SRV records give the ports)',
      url,
    );
  }
  if (weight !== undefined) {
    invalidUpstream(
      `\`${what}.weight\``,
      'absent for a `dnssrv+` URL (the SRV records give the weights)',
      weight,
    );
  }
  return { kind: 'srv', source: `dnssrv+${protocol}//${hostname}`, protocol, hostname };
}
