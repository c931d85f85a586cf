// The admin server, on its own address: /metrics, /healthz, /readyz, /upstreams. It forwards nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { metricsHandler } from '@roundguard/metrics';
import { errorCode, parserErrorCode, rawErrorResponse, sendError } from './errors.js';
import { responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

/**
 * Where the admin server gets what lives in other processes (cluster mode): the merged exposition and
 * the in-flight counts. Without them it reads this process' own registry and counters.
 */
export interface AdminSources {
  metricsText?: () => Promise<{ contentType: string; body: string }>;
  inFlight?: () => Promise<Map<string, number>>;
}

/** `/upstreams`: each upstream's url, weight, health, in-flight count and last probe. */
export function upstreamsReport(ctx: ProxyContext, inFlight?: Map<string, number>): unknown[] {
  const byKey = new Map(ctx.balancer.status().map((s) => [s.key, s]));
  return ctx.balancer.targets().map((u) => {
    const s = byKey.get(u.key);
    return {
      url: u.url,
      weight: u.weight,
      healthy: s?.healthy ?? false,
      inFlight: inFlight?.get(u.url) ?? u.conn.inFlight,
      since: s ? new Date(s.since).toISOString() : null,
      lastProbe: s?.lastProbeAt ? new Date(s.lastProbeAt).toISOString() : null,
      lastError: s?.lastError ?? null,
      consecutiveFailures: s?.consecutiveFailures ?? 0,
    };
  });
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
          const healthy = ctx.balancer.healthyCount;
          const ready = healthy > 0 && !ctx.draining;
          return sendJson(
            res,
            ready ? 200 : 503,
            {
              status: ready ? 'ready' : ctx.draining ? 'draining' : 'no healthy upstream',
              healthyUpstreams: healthy,
            },
            head,
          );
        }
        default:
          if (sources.inFlight === undefined)
            return sendJson(res, 200, { upstreams: upstreamsReport(ctx) }, head);
          void sources
            .inFlight()
            .then((counts) => sendJson(res, 200, { upstreams: upstreamsReport(ctx, counts) }, head));
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
