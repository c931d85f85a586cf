// Client-side helpers: one-shot HTTP requests on node:http (full control of headers and connections),
// a raw-socket exchange for bytes an HTTP client would not send, polling, the proxy's admin endpoints,
// the RSS of a process and a Prometheus text parser. The generic ones are @roundguard/testkit's.
import { spawnSync } from 'node:child_process';
import type { Agent, OutgoingHttpHeaders } from 'node:http';
import { parseMetrics, request, waitFor, type Response, type Sample } from '@roundguard/testkit';

export {
  MiB,
  parseMetrics,
  rawExchange,
  rssBytes,
  request,
  sleep,
  sumOf,
  waitFor,
  type RequestOptions,
  type Response,
  type Sample,
} from '@roundguard/testkit';

/** A JSON POST (what the echo backend answers). */
export function postJson(
  url: string,
  value: unknown = { hello: 'world' },
  headers: OutgoingHttpHeaders = {},
  agent?: Agent,
): Promise<Response> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(value),
    agent: agent ?? false,
  });
}

/** One entry of the admin server's `GET /upstreams`. */
export interface UpstreamReport {
  url: string;
  weight: number;
  healthy: boolean;
  inFlight: number;
  lastProbe: string | null;
  lastError: string | null;
  [key: string]: unknown;
}

export async function getUpstreams(adminUrl: string): Promise<UpstreamReport[]> {
  const res = await request(`${adminUrl}/upstreams`);
  if (res.status !== 200) throw new Error(`GET /upstreams answered ${res.status}`);
  return res.json<{ upstreams: UpstreamReport[] }>().upstreams;
}

/** Waits until the admin server reports `url` with the given health. */
export function waitForHealth(
  adminUrl: string,
  url: string,
  healthy: boolean,
  timeoutMs = 10_000,
): Promise<UpstreamReport> {
  return waitFor(
    async () => (await getUpstreams(adminUrl)).find((u) => u.url === url && u.healthy === healthy),
    `${url} to be ${healthy ? 'healthy' : 'unhealthy'}`,
    timeoutMs,
  );
}

export async function getMetrics(adminUrl: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await request(`${adminUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const text = res.text();
  return { text, samples: parseMetrics(text) };
}

/** `promtool` on PATH or at /usr/bin/promtool, or undefined. */
export function findPromtool(): string | undefined {
  for (const candidate of ['promtool', '/usr/bin/promtool', '/usr/local/bin/promtool']) {
    const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}
