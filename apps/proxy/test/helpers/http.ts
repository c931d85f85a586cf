// Client-side helpers: one-shot HTTP requests on node:http (full control of headers and connections),
// a raw-socket exchange for bytes an HTTP client would not send, polling, the proxy's admin endpoints,
// the RSS of a process and a Prometheus text parser.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  request as httpRequest,
  type Agent,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { connect } from 'node:net';

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders | readonly string[];
  body?: string | Buffer;
  /** Default `false`: one connection per request, closed after it. */
  agent?: Agent | false;
  timeoutMs?: number;
}

/** One HTTP request with node:http; resolves with the whole response, rejects on a cut one. */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: options.agent ?? false,
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`request ${url} timed out`)),
      options.timeoutMs ?? 15_000,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body,
          text: () => body.toString('utf8'),
          json: <T>() => JSON.parse(body.toString('utf8')) as T,
        });
      });
    });
    req.end(options.body);
  });
}

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

/** Writes `bytes` on a new TCP connection and collects everything until the server closes it (or timeout). */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  timeoutMs = 10_000,
): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: false });
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET')
        resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: true });
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: true });
    });
    socket.write(bytes);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value; rejects with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    await sleep(intervalMs);
  }
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

/** Resident set size of a process in bytes (Linux /proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

export const MiB = 1024 * 1024;

/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the samples of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(body)) !== null)
      labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const raw = match[4] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include every pair of `where`. */
export function sumOf(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
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
