// Requests with `Connection: Upgrade`: Node's server hands every one of them to the 'upgrade' listener
// (with the socket, its HTTP parser detached). A WebSocket handshake (`GET`, HTTP/1.1, no body, a valid
// head, `Upgrade: websocket`) becomes a Tunnel (tunnel.ts). Any other one (h2c, a body, a request the
// proxy refuses) is not tunnelled: it is replayed into the server as a plain request, without its
// Upgrade header, so that it takes the ordinary path (validation, body streaming, keep-alive, refusals)
// with the bytes that follow it. Open tunnels are kept per context, for the drain.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { equalsLower } from './header-rules.js';
import { isLingering, responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import { isRefused } from './refusal.js';
import { readRequestHead } from './request-head.js';
import { validate } from './request-validation.js';
import { Tunnel } from './tunnel.js';

const openTunnels = new WeakMap<ProxyContext, Set<Tunnel>>();
const tunnelSockets = new WeakSet<Duplex>();

/** The server's 'upgrade' listener. */
export function upgradeListener(
  ctx: ProxyContext,
  server: Server,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  function onUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer): void {
    // Pipelined behind a refused request or an answer that closes the connection: not served.
    if (isRefused(socket as Socket) || isLingering(socket as Socket)) return;
    const busy = responseInProgress(socket as Socket);
    if (busy !== null) {
      // Pipelined behind a request still being answered: taken up once that answer is out.
      busy.once('finish', () => {
        if (socket.destroyed || socket.writableEnded) socket.destroy();
        else onUpgrade(req, socket, early);
      });
      return;
    }
    const protocol = webSocketUpgrade(req);
    const head = readRequestHead(req, performance.now());
    if (
      protocol === undefined ||
      head.method !== 'GET' ||
      head.versionMajor !== 1 ||
      head.versionMinor !== 1 ||
      head.bodyLength !== 0 ||
      validate(head) !== undefined
    ) {
      replayAsPlainRequest(server, req, socket as Socket, early);
      return;
    }
    const tunnel = new Tunnel(ctx, req, socket as Socket, early, head, protocol);
    let tunnels = openTunnels.get(ctx);
    if (tunnels === undefined) openTunnels.set(ctx, (tunnels = new Set()));
    tunnels.add(tunnel);
    tunnelSockets.add(socket);
    tunnel.onDone = forget;
    tunnel.start();
  }
  return onUpgrade;
}

function forget(tunnel: Tunnel): void {
  const tunnels = openTunnels.get(tunnel.ctx);
  if (tunnels === undefined) return;
  tunnels.delete(tunnel);
  if (tunnels.size > 0) return;
  const waiting = closing.get(tunnel.ctx) ?? [];
  closing.delete(tunnel.ctx);
  for (const resolve of waiting) resolve();
}

const closing = new WeakMap<ProxyContext, (() => void)[]>();

/** Whether a client socket carries a tunnel (open or being opened): the drain leaves it open. */
export function isTunnelSocket(socket: Duplex): boolean {
  return tunnelSockets.has(socket);
}

/** Tunnels of `ctx` open right now. */
export function tunnelCount(ctx: ProxyContext): number {
  return openTunnels.get(ctx)?.size ?? 0;
}

/** Closes every tunnel of `ctx` (the end of a drain); resolves once each was accounted. */
export function closeTunnels(ctx: ProxyContext): Promise<void> {
  const tunnels = openTunnels.get(ctx);
  if (tunnels === undefined || tunnels.size === 0) return Promise.resolve();
  const done = new Promise<void>((resolve) => {
    const waiting = closing.get(ctx) ?? [];
    waiting.push(resolve);
    closing.set(ctx, waiting);
  });
  for (const tunnel of [...tunnels]) tunnel.close('SHUTTING_DOWN');
  return done;
}

/**
 * The client's Upgrade value when it asks for WebSocket (its token list names `websocket`), else
 * undefined.
 */
export function webSocketUpgrade(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (!equalsLower(raw[i] as string, 'upgrade')) continue;
    if (value !== undefined) return undefined; // two Upgrade headers: not a handshake
    value = raw[i + 1];
  }
  if (value === undefined) return undefined;
  for (const token of value.split(',')) if (equalsLower(token.trim(), 'websocket')) return value.trim();
  return undefined;
}

/**
 * Gives the request back to `server` as a plain one: its head is written again without the Upgrade
 * header, put back in front of the bytes that followed it, and the socket is handed to the server as a
 * new connection (a fresh HTTP parser reads it; Node parses without consuming the socket's handle when
 * it was consumed once, so the bytes put back are read first). Without Upgrade, Node no longer sees an
 * upgrade: the request and those after it on the connection go the ordinary way.
 */
export function replayAsPlainRequest(
  server: Server,
  req: IncomingMessage,
  socket: Socket,
  early: Buffer,
): void {
  const raw = req.rawHeaders;
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    if (!equalsLower(raw[i] as string, 'upgrade')) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  text += '\r\n';
  try {
    socket.setTimeout(0); // a keep-alive timer left by an earlier answer must not fire under the new parser
    socket.unshift(
      early.length === 0 ? Buffer.from(text, 'latin1') : Buffer.concat([Buffer.from(text, 'latin1'), early]),
    );
    server.emit('connection', socket);
  } catch {
    socket.destroy(); // the client closed its side already: nothing to replay
  }
}
