// What an upstream may be written as: a base URL on the command line and in ROUNDGUARD_UPSTREAMS, a URL
// or `{ "url": ..., "weight": n }` in a config file. Besides `http(s)://host:port`, a discovery URL:
// `dns+http://NAME:PORT` (every A/AAAA address of NAME) or `dnssrv+http://_SERVICE._tcp.NAME` (every SRV
// record), resolved by the dispatcher.
import { isIP } from 'node:net';
import { InvalidValue, type Parse } from '@roundguard/cli-options';

/** A configured upstream. */
export interface UpstreamConfig {
  /**
   * Base URL normalized to `scheme://host:port` (the default port filled in): also its metrics label.
   * A discovery URL is normalized to `dns+scheme://name:port` or `dnssrv+scheme://name`.
   */
  readonly url: string;
  /** Share of the requests, from 0 (out of rotation) to 1,000,000; 1 when not given. */
  readonly weight: number;
  /** Its name (`host:port` when not given); only upstreams added through the admin API have one. */
  readonly name?: string;
}

const BASE_URL = 'an http:// or https:// base URL such as http://127.0.0.1:3001';
const MAX_WEIGHT = 1_000_000;
const WEIGHT = `an integer from 0 to ${MAX_WEIGHT}`;
const DISCOVERY = /^(dns|dnssrv)\+(.*)$/is;

/** Whether an upstream URL is a discovery URL (`dns+` or `dnssrv+`). */
export function isDiscoveryUrl(url: string): boolean {
  return url.startsWith('dns+') || url.startsWith('dnssrv+');
}

/**
 * Validates an upstream base URL and normalizes it to `scheme://host:port` (or a discovery URL to
 * `dns+scheme://name:port` / `dnssrv+scheme://name`).
 * @throws {InvalidValue} naming what is wrong with it
 */
export function normalizeUpstreamUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidValue(BASE_URL);
  const trimmed = value.trim();
  const discovery = DISCOVERY.exec(trimmed);
  const inner = discovery === null ? trimmed : (discovery[2] as string);
  let url: URL;
  try {
    url = new URL(inner);
  } catch {
    throw new InvalidValue(BASE_URL);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidValue(
      discovery === null ? 'a URL whose scheme is http or https' : 'a dns+http:// or dnssrv+http:// URL',
    );
  if (url.username || url.password) throw new InvalidValue('a URL without credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    throw new InvalidValue('a base URL without path, query or fragment (http://host:port)');
  if (url.port === '0') throw new InvalidValue('a URL with a port from 1 to 65535');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (discovery === null) return `${url.protocol}//${url.hostname}:${port}`;
  const kind = (discovery[1] as string).toLowerCase();
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0)
    throw new InvalidValue('a discovery URL with a DNS name, not an address (use http:// for an address)');
  if (kind === 'dns') return `dns+${url.protocol}//${url.hostname}:${port}`;
  if (url.port !== '' || /^[a-z]+:\/\/[^/]*:\d*(?:\/|$)/i.test(inner))
    throw new InvalidValue('a dnssrv+ URL without a port (the SRV records give the ports)');
  return `dnssrv+${url.protocol}//${url.hostname}`;
}

/** One upstream: a URL string anywhere, or `{ "url": ..., "weight": n }` in a config file. */
export const parseUpstream: Parse<UpstreamConfig> = (value, origin) => {
  if (typeof value === 'string') return { url: normalizeUpstreamUrl(value), weight: 1 };
  if (origin === 'text' || value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidValue('an upstream URL or { "url": ..., "weight": n }');
  const { url, weight, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    throw new InvalidValue('url and weight', {
      problem: `unknown key ${JSON.stringify(unknown)} (expected url and weight)`,
    });
  let normalized: string;
  try {
    normalized = normalizeUpstreamUrl(url);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new InvalidValue(err.expected, { path: '.url', got: url });
  }
  if (weight === undefined) return { url: normalized, weight: 1 };
  if (normalized.startsWith('dnssrv+'))
    throw new InvalidValue('no weight for a dnssrv+ URL (the SRV records give the weights)', {
      path: '.weight',
      got: weight,
    });
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT)
    throw new InvalidValue(WEIGHT, { path: '.weight', got: weight });
  return { url: normalized, weight };
};

/** The first upstream listed twice (after normalization: `http://h` and `http://h:80/` are the same). */
export function duplicateUpstream(
  upstreams: readonly UpstreamConfig[],
): { index: number; problem: string } | undefined {
  const seen = new Set<string>();
  for (const [index, { url }] of upstreams.entries()) {
    if (seen.has(url)) return { index, problem: `duplicate upstream ${JSON.stringify(url)}` };
    seen.add(url);
  }
  return undefined;
}

/**
 * A DNS server for discovery: an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`).
 * @throws {InvalidValue} when it is not one
 */
export const parseDnsServer: Parse<string> = (value) => {
  const expected = 'an IP address with an optional port, such as 127.0.0.1:5353 or [::1]:53';
  if (typeof value !== 'string') throw new InvalidValue(expected);
  let address = value;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed !== null) {
    address = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(address) !== 6) throw new InvalidValue(expected);
  } else if (isIP(value) === 0) {
    const i = value.lastIndexOf(':');
    if (i < 0) throw new InvalidValue(expected);
    address = value.slice(0, i);
    port = value.slice(i + 1);
    if (isIP(address) !== 4) throw new InvalidValue(expected);
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
    throw new InvalidValue(expected);
  return value;
};
