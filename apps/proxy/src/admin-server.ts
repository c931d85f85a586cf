// The admin server, on its own address: the read side (/metrics, /healthz, /readyz, /upstreams:
// admin-read.ts), the write API (POST /upstreams, PATCH and DELETE /upstreams/NAME: admin-write.ts) and
// the dashboard (/, /events and its assets: dashboard/). It forwards nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  createReadHandler,
  READ_PATHS,
  readUpstreams,
  type AdminSources,
  type UpstreamReport,
} from './admin-read.js';
import { createWriteHandler, writeMethods } from './admin-write.js';
import { createDashboard } from './dashboard/dashboard.js';
import type { UpstreamStatusLike } from './dashboard/rows.js';
import { errorCode, parserErrorCode, rawErrorResponse, sendError } from './errors.js';
import { responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';

export {
  ownUpstreams,
  pickableCount,
  upstreamReport,
  type AdminSources,
  type UpstreamReport,
} from './admin-read.js';

/** An upstream's report as the dashboard shows it. */
export function dashboardStatus(r: UpstreamReport): UpstreamStatusLike {
  return {
    name: r.name,
    url: r.url,
    state: r.state,
    weight: r.weight,
    inFlight: r.inFlight,
    lastProbe:
      r.lastProbe === null
        ? null
        : {
            at: r.lastProbe,
            ok: r.lastProbeResult === 'ok',
            result: r.lastProbeResult,
            error: r.lastProbeResult === 'ok' ? null : r.lastError,
          },
  };
}

export function createAdminServer(ctx: ProxyContext, sources: AdminSources = {}): Server {
  const read = createReadHandler(ctx, sources);
  const write = createWriteHandler(ctx, sources);
  const dashboard = createDashboard({
    history: sources.traffic === undefined ? ctx.history : { snapshot: sources.traffic },
    status: async () => (await readUpstreams(ctx, sources)).map(dashboardStatus),
    onError: (err) => ctx.logger.error('dashboard status failed', { err }),
  });
  const server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000 },
    (req: IncomingMessage, res: ServerResponse) => {
      if (dashboard.handle(req, res)) return;
      const path = (req.url ?? '/').split('?')[0] as string;
      const method = req.method ?? '';
      const writable = writeMethods(path);
      if (READ_PATHS.has(path) && (method === 'GET' || method === 'HEAD')) return read(req, res, path);
      if (writable?.split(', ').includes(method) === true) return write(req, res, path);
      if (READ_PATHS.has(path) || writable !== undefined)
        return sendError(res, 'METHOD_NOT_ALLOWED', ['allow', writable ?? 'GET, HEAD']);
      return sendError(res, 'NOT_FOUND');
    },
  );
  server.on('close', () => dashboard.close());
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
