// Graceful stop of a forwarding listener (SIGTERM / SIGINT): stop accepting, answer the requests in
// flight with `Connection: close`, close the connections that carry no request at once, wait up to
// --drain-timeout for the rest (WebSocket tunnels included), then close what remains.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import { closeServer } from './runtime.js';
import { closeTunnels, isTunnelSocket } from './upgrade.js';

/** The client connections of a server, kept so that a drain can close those that carry no request. */
export function trackConnections(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * Closes every connection that has no response in progress: idle keep-alive ones, and also those that
 * connected and sent nothing (or only part of a request head), which Node's closeIdleConnections() leaves
 * open (it counts them as busy) and which would otherwise hold the drain until its timeout.
 */
function closeUnusedConnections(proxy: Server, sockets: ReadonlySet<Socket>): void {
  proxy.closeIdleConnections();
  for (const socket of sockets) {
    if (responseInProgress(socket) === null && !isTunnelSocket(socket)) socket.destroy();
  }
}

/** Drains `proxy`; resolves once every connection is closed, by then or by force at the drain timeout. */
export async function drainProxy(
  ctx: ProxyContext,
  proxy: Server,
  sockets: ReadonlySet<Socket>,
  signal: string,
): Promise<void> {
  const { config, logger } = ctx;
  ctx.draining = true;
  logger.info('draining', { signal, in_flight: ctx.inFlight, drain_timeout_ms: config.drainTimeout });
  const closed = closeServer(proxy);
  closeUnusedConnections(proxy, sockets);
  const idle = new Promise<void>((resolve) => {
    if (ctx.inFlight === 0) resolve();
    else ctx.onIdle = resolve;
  });
  let timedOut = false;
  const deadline = new Promise<void>((resolve) =>
    setTimeout(() => ((timedOut = true), resolve()), config.drainTimeout).unref(),
  );
  await Promise.race([Promise.all([idle, closed]), deadline]);
  if (timedOut) logger.warn('drain timeout: closing remaining connections', { in_flight: ctx.inFlight });
  // WebSocket tunnels were left open until now (they are requests in flight); closed, then accounted.
  const tunnelsClosed = closeTunnels(ctx);
  proxy.closeAllConnections();
  await tunnelsClosed;
}
