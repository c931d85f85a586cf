// What an upstream may be written as: a base URL on the command line and in ROUNDGUARD_UPSTREAMS, a URL
// or `{ "url": ..., "weight": n }` in a config file.
import { InvalidValue, type Parse } from './option-values.js';

/** A configured upstream. */
export interface UpstreamConfig {
  /** Base URL normalized to `scheme://host:port` (the default port filled in): also its metrics label. */
  readonly url: string;
  /** Share of the requests, from 0 (out of rotation) to 1,000,000; 1 when not given. */
  readonly weight: number;
}

const BASE_URL = 'an http:// or https:// base URL such as http://127.0.0.1:3001';
const MAX_WEIGHT = 1_000_000;
const WEIGHT = `an integer from 0 to ${MAX_WEIGHT}`;

/**
 * Validates an upstream base URL and normalizes it to `scheme://host:port`.
 * @throws {InvalidValue} naming what is wrong with it
 */
export function normalizeUpstreamUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidValue(BASE_URL);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InvalidValue(BASE_URL);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidValue('a URL whose scheme is http or https');
  if (url.username || url.password) throw new InvalidValue('a URL without credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    throw new InvalidValue('a base URL without path, query or fragment (http://host:port)');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${url.hostname}:${port}`;
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
