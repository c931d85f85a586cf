// The dashboard's test bench: a real node:http server on 127.0.0.1:0 that answers through the dashboard's
// handler, serves GET /upstreams and a PATCH /upstreams/NAME that behaves as the admin write API does
// (token, content type, JSON, known name; 401/403/404/415/400 with the API's JSON errors) and changes the
// status the page shows; real backends to send requests to, each one recorded in a real TrafficHistory;
// and a reader for /events that splits the stream into frames.
import {
  createServer,
  get,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dashboard, DashboardOptions } from '../../src/dashboard/dashboard.js';
import { createDashboard } from '../../src/dashboard/dashboard.js';
import type { ProbeLike, UpstreamState } from '../../src/dashboard/rows.js';
import { TrafficHistory } from '../../src/dashboard/traffic-history.js';
import { request } from '../helpers/http.js';

/** One upstream's status as the bench serves it; tests change it in place. */
export interface BenchUpstream {
  name: string;
  url: string;
  state: UpstreamState;
  weight: number;
  inFlight: number;
  lastProbe: ProbeLike | null;
}

export interface SeenPatch {
  readonly name: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly status: number;
}

export interface DashboardBench {
  readonly url: string;
  readonly server: Server;
  readonly dashboard: Dashboard;
  readonly history: TrafficHistory;
  /** What `status()` returns: change it to change the page. */
  readonly upstreams: BenchUpstream[];
  /** Every PATCH the bench answered, oldest first. */
  readonly patches: SeenPatch[];
  /** Every request the bench received, as `METHOD /path`. */
  readonly seen: string[];
  close(): Promise<void>;
}

export interface BenchOptions {
  readonly upstreams: BenchUpstream[];
  /** The admin token; without one, PATCH answers 403 `ADMIN_READ_ONLY`. */
  readonly token?: string;
  readonly dashboard?: Partial<DashboardOptions>;
  readonly server?: ServerOptions;
  readonly history?: TrafficHistory;
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

const error = (code: string, message: string) => ({ error: { code, message } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const STATE_OF: Readonly<Record<string, UpstreamState>> = { drain: 'draining', maint: 'maint', ready: 'up' };

async function patch(
  req: IncomingMessage,
  res: ServerResponse,
  bench: { upstreams: BenchUpstream[]; patches: SeenPatch[] },
  token: string | undefined,
  name: string,
): Promise<void> {
  const body = await readBody(req);
  const answer = (status: number, value: unknown, headers?: Record<string, string>): void => {
    bench.patches.push({
      name,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
      status,
    });
    sendJson(res, status, value, headers);
  };
  if (token === undefined) return answer(403, error('ADMIN_READ_ONLY', 'the admin API is read-only'));
  if (req.headers.authorization !== `Bearer ${token}`) {
    return answer(401, error('UNAUTHORIZED', 'a valid bearer token is required'), {
      'www-authenticate': 'Bearer',
    });
  }
  if (req.headers['content-type']?.split(';')[0]?.trim() !== 'application/json') {
    return answer(415, error('UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json'));
  }
  let change: { state?: unknown; weight?: unknown };
  try {
    change = JSON.parse(body) as typeof change;
  } catch {
    return answer(400, error('BAD_REQUEST', 'the body is not JSON'));
  }
  const upstream = bench.upstreams.find((u) => u.name === name);
  if (upstream === undefined) return answer(404, error('UNKNOWN_UPSTREAM', `no upstream named ${name}`));
  if (change.state !== undefined && (typeof change.state !== 'string' || !(change.state in STATE_OF))) {
    return answer(
      400,
      error('INVALID_CHANGE', `state must be ready, drain or maint, got ${JSON.stringify(change.state)}`),
    );
  }
  if (
    change.weight !== undefined &&
    (typeof change.weight !== 'number' || !Number.isInteger(change.weight) || change.weight < 0)
  ) {
    return answer(
      400,
      error(
        'INVALID_CHANGE',
        `weight must be an integer from 0 to 1000000, got ${JSON.stringify(change.weight)}`,
      ),
    );
  }
  if (typeof change.state === 'string') upstream.state = STATE_OF[change.state] as UpstreamState;
  if (typeof change.weight === 'number') upstream.weight = change.weight;
  answer(200, upstream);
}

export async function startDashboardBench(options: BenchOptions): Promise<DashboardBench> {
  const history = options.history ?? new TrafficHistory();
  const upstreams = options.upstreams;
  for (const u of upstreams) history.upstream(u.name);
  const patches: SeenPatch[] = [];
  const seen: string[] = [];
  const dashboard = createDashboard({ history, status: () => upstreams, ...options.dashboard });
  const server = createServer(options.server ?? {}, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (dashboard.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'PATCH' && path.startsWith('/upstreams/')) {
      const name = decodeURIComponent(path.slice('/upstreams/'.length));
      patch(req, res, { upstreams, patches }, options.token, name).catch(() => res.destroy());
      return;
    }
    if (req.method === 'GET' && path === '/upstreams') return sendJson(res, 200, { upstreams });
    sendJson(res, 404, error('NOT_FOUND', 'not found'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    dashboard,
    history,
    upstreams,
    patches,
    seen,
    async close() {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A bench upstream with a passing probe a second ago. */
export function benchUpstream(name: string, url: string, extra: Partial<BenchUpstream> = {}): BenchUpstream {
  return {
    name,
    url,
    state: 'up',
    weight: 1,
    inFlight: 0,
    lastProbe: { at: new Date(Date.now() - 1000).toISOString(), ok: true, result: 'ok', error: null },
    ...extra,
  };
}

/**
 * Sends `count` real GET requests to `targetUrl` one after the other and records each in `history` under
 * `name`: the status it got (0 when no answer came) and how long it took.
 */
export async function sendTraffic(
  history: TrafficHistory,
  name: string,
  targetUrl: string,
  count: number,
): Promise<void> {
  const recorder = history.upstream(name);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    let status = 0;
    try {
      status = (await request(targetUrl, { timeoutMs: 5000 })).status;
    } catch {
      status = 0;
    }
    recorder.record(status, (performance.now() - started) / 1000);
  }
}

/** A reader of a `text/event-stream` response, split into frames (the text between blank lines). */
export interface EventReader {
  readonly res: IncomingMessage;
  /** Every frame received so far. */
  readonly frames: string[];
  /** Everything received so far, as sent. */
  readonly raw: () => string;
  /** The next frame not yet returned by `next`. */
  next(timeoutMs?: number): Promise<string>;
  /** The next `data:` frame's JSON. */
  nextData<T = unknown>(timeoutMs?: number): Promise<T>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** Goes away (destroys the connection). */
  close(): void;
}

export function openEvents(url: string): Promise<EventReader> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { accept: 'text/event-stream' } });
    req.on('error', reject);
    req.on('response', (res) => {
      let raw = '';
      let pending = '';
      const frames: string[] = [];
      let read = 0;
      let wake: (() => void) | undefined;
      let endedResolve: () => void = () => undefined;
      const ended = new Promise<void>((r) => (endedResolve = r));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        pending += chunk;
        let i: number;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          frames.push(pending.slice(0, i));
          pending = pending.slice(i + 2);
        }
        wake?.();
      });
      res.on('end', () => {
        endedResolve();
        wake?.();
      });
      res.on('error', () => endedResolve());
      res.on('close', () => endedResolve());
      const next = async (timeoutMs = 5000): Promise<string> => {
        const deadline = Date.now() + timeoutMs;
        while (read >= frames.length) {
          if (res.complete || res.destroyed)
            throw new Error(`the stream ended; frames: ${JSON.stringify(frames)}`);
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms; got ${JSON.stringify(raw)}`);
          await new Promise<void>((r) => {
            const timer = setTimeout(r, left);
            wake = () => {
              clearTimeout(timer);
              r();
            };
          });
          wake = undefined;
        }
        return frames[read++] as string;
      };
      const nextData = async <T>(timeoutMs = 5000): Promise<T> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const frame = await next(Math.max(1, deadline - Date.now()));
          if (frame.startsWith('data: ')) return JSON.parse(frame.slice(6)) as T;
        }
      };
      resolve({ res, frames, raw: () => raw, next, nextData, ended, close: () => req.destroy() });
    });
  });
}

/**
 * Probes `GET <url>/health` of every upstream not in `maint` every `intervalMs` (never overlapping), as
 * the proxy's health checks do: a 200 puts an `up`/`down` upstream up, anything else puts it down;
 * `draining` and `ejected` keep their state. Returns a stop function.
 */
export function startProber(upstreams: BenchUpstream[], intervalMs: number): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const round = async (): Promise<void> => {
    await Promise.all(
      upstreams
        .filter((u) => u.state !== 'maint')
        .map(async (u) => {
          let ok = false;
          let result = 'ok';
          let error: string | null = null;
          try {
            const res = await request(`${u.url}/health`, { timeoutMs: Math.min(1000, intervalMs) });
            ok = res.status === 200;
            if (!ok) {
              result = 'bad_status';
              error = `status ${res.status}`;
            }
          } catch (err) {
            result = 'error';
            error = (err as NodeJS.ErrnoException).code ?? String(err);
          }
          u.lastProbe = { at: new Date().toISOString(), ok, result, error };
          if (u.state === 'up' || u.state === 'down') u.state = ok ? 'up' : 'down';
        }),
    );
    if (!stopped) timer = setTimeout(() => void round(), intervalMs);
  };
  void round();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Sends one real request every `everyMs` to each upstream that takes traffic (`up`), recording each in
 * `history` and counting it in the upstream's `inFlight` while it runs; at most `maxRequests` in all.
 * Returns a stop function that resolves once the last request is done.
 */
export function startTrafficLoop(
  history: TrafficHistory,
  upstreams: BenchUpstream[],
  everyMs: number,
  maxRequests: number,
): () => Promise<void> {
  let sent = 0;
  const running = new Set<Promise<void>>();
  const timer = setInterval(() => {
    for (const u of upstreams) {
      if (u.state !== 'up' || sent >= maxRequests) continue;
      sent++;
      u.inFlight++;
      const p = sendTraffic(history, u.name, `${u.url}/work`, 1).finally(() => {
        u.inFlight--;
        running.delete(p);
      });
      running.add(p);
    }
  }, everyMs);
  return async () => {
    clearInterval(timer);
    await Promise.all(running);
  };
}
