// The admin server, on its own address: /metrics, /healthz, /readyz, /upstreams. It forwards nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { metricsHandler } from '@roundguard/metrics';
import { errorCode, parserErrorCode, rawErrorResponse, sendError } from './errors.js';
import { responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamState, UpstreamStatus } from '@roundguard/dispatcher';

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

/** One upstream in `GET /upstreams`. */
export interface UpstreamReport {
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  /** `up`, `down`, `ejected`, `draining` or `maint`. */
  readonly state: UpstreamState;
  /** Whether its health is good (probes pass, no connect failure keeps it out); `state` says if it is in rotation. */
  readonly healthy: boolean;
  readonly inFlight: number;
  /** Requests sent to it (each retry on the upstream it went to). */
  readonly requests: number;
  /** Failed exchanges: connect errors, resets, timeouts, 5xx answers. */
  readonly failures: number;
  /** When its state last changed (ISO time). */
  readonly since: string | null;
  /** When it was last probed (ISO time). */
  readonly lastProbe: string | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  /** End of its ejection by outlier detection (ISO time), or null. */
  readonly ejectedUntil: string | null;
  /** For a discovered upstream only: the `dns+` / `dnssrv+` URL that found it. */
  readonly discoveredFrom?: string;
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** The report of one upstream from the dispatcher's status of it (and, in a cluster, the workers' counts). */
export function upstreamReport(
  s: UpstreamStatus,
  since: number | null,
  counts: { inFlight: number; requests: number; failures: number; consecutiveFailures: number } = s,
  state: UpstreamState = s.state,
  ejectedUntil: number | null = s.ejectedUntil,
): UpstreamReport {
  return {
    name: s.name,
    url: s.url,
    weight: s.weight,
    state,
    healthy: s.healthy,
    inFlight: counts.inFlight,
    requests: counts.requests,
    failures: counts.failures,
    since: iso(since),
    lastProbe: iso(s.lastProbeAt),
    lastError: s.lastError,
    consecutiveFailures: counts.consecutiveFailures,
    ejectedUntil: iso(ejectedUntil),
    ...(s.discoveredFrom === null ? {} : { discoveredFrom: s.discoveredFrom }),
  };
}

/** `/upstreams` of a process that forwards itself: its dispatcher's view. */
export function ownUpstreams(ctx: ProxyContext): UpstreamReport[] {
  const handles = ctx.dispatcher.upstreams();
  return ctx.dispatcher.status().map((s, i) => upstreamReport(s, handles[i]?.data?.since ?? null));
}

/** How many upstreams can take a request now (in state `up` with a weight above 0). */
export function pickableCount(reports: readonly Pick<UpstreamReport, 'state' | 'weight'>[]): number {
  let n = 0;
  for (const r of reports) if (r.state === 'up' && r.weight > 0) n++;
  return n;
}

/**
 * Where the admin server gets what lives in other processes (cluster mode): the merged exposition and
 * the upstreams as the workers see them. Without them it reads this process' own registry and dispatcher.
 */
export interface AdminSources {
  metricsText?: () => Promise<{ contentType: string; body: string }>;
  upstreams?: () => Promise<UpstreamReport[]>;
  /** Upstreams that can take a request now (for `/readyz`). */
  pickable?: () => number;
}

export function createAdminServer(ctx: ProxyContext, sources: AdminSources = {}): Server {
  const ownMetrics = metricsHandler(ctx.metrics.registry);
  const metrics = (req: IncomingMessage, res: ServerResponse, head: boolean): void => {
    if (sources.metricsText === undefined) return ownMetrics(req, res);
    sources.metricsText().then(
      ({ contentType, body }) => {
        res.writeHead(200, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(head ? undefined : body);
      },
      (err: unknown) => {
        ctx.logger.error('metrics collection failed', { err });
        if (!res.headersSent) {
          sendJson(
            res,
            500,
            { error: { code: 'METRICS_COLLECTION_FAILED', message: 'metrics could not be collected' } },
            head,
          );
        }
      },
    );
  };
  const server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000 },
    (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      const known = path === '/metrics' || path === '/healthz' || path === '/readyz' || path === '/upstreams';
      if (!known) return sendError(res, 'NOT_FOUND');
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendError(res, 'METHOD_NOT_ALLOWED', ['allow', 'GET, HEAD']);
      const head = req.method === 'HEAD';
      switch (path) {
        case '/metrics':
          return metrics(req, res, head);
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' }, head);
        case '/readyz': {
          const healthy = sources.pickable?.() ?? pickableCount(ctx.dispatcher.status());
          // From the first SIGTERM on (shutdown delay, then drain): not ready, whatever the upstreams.
          const stopping = ctx.shuttingDown || ctx.draining;
          const ready = healthy > 0 && !stopping;
          return sendJson(
            res,
            ready ? 200 : 503,
            {
              status: ready
                ? 'ready'
                : stopping
                  ? ctx.draining
                    ? 'draining'
                    : 'shutting down'
                  : 'no healthy upstream',
              healthyUpstreams: healthy,
            },
            head,
          );
        }
        default:
          if (sources.upstreams === undefined)
            return sendJson(res, 200, { upstreams: ownUpstreams(ctx) }, head);
          void sources.upstreams().then((upstreams) => sendJson(res, 200, { upstreams }, head));
          return;
      }
    },
  );
  // CONNECT never reaches the request handler (Node destroys the socket without an answer when nobody
  // listens): the admin server is no proxy, so CONNECT is a method not allowed like any but GET and HEAD.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end(rawErrorResponse('METHOD_NOT_ALLOWED', ['allow', 'GET, HEAD']), () => socket.destroy());
  });
  // Bytes that are not HTTP get a JSON 400 (431, 505, ...) and the connection closed, not a bare reset.
  server.on('clientError', (err: Error, socket: Socket) => {
    const busy = responseInProgress(socket) !== null;
    if (!socket.writable || busy || errorCode(err) === 'ECONNRESET') return void socket.destroy();
    socket.on('error', () => undefined);
    socket.end(rawErrorResponse(parserErrorCode(err)), () => socket.destroy());
  });
  return server;
}
