// Every use of Node.js' private http internals, in one file: the response a client socket is busy with
// (`socket._httpMessage`), and the lingering close, which relies on how Node's server closes a
// connection after its last response (`socket.destroySoon()`) and on how a request's body is thrown
// away (`req._dump()`). Node has no public API for either; a Node upgrade that changes them breaks here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

type InternalSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * The response Node is writing on a client socket, or `null` when there is none: an idle keep-alive
 * connection, or one that has not sent a complete request head yet.
 */
export function responseInProgress(socket: Socket): ServerResponse | null {
  return (socket as InternalSocket)._httpMessage ?? null;
}

/**
 * Longest a client connection stays open, half-closed, after the proxy answered before the request's
 * body was read (see {@link lingerAfterResponse}): as nginx's `lingering_timeout`, long enough for a
 * client to read the answer, short enough that an endless upload costs little.
 */
export const LINGER_MS = 2000;

const kLinger = Symbol('roundguard.linger');

type LingeringSocket = InternalSocket & {
  /** The request whose unread body the lingering close throws away. */
  [kLinger]?: { readonly req: IncomingMessage; timer: NodeJS.Timeout | undefined };
};

/**
 * Closes the connection of `req` in stages (RFC 9112 9.6) once its response (sent with
 * `Connection: close`) is out, instead of at once.
 *
 * Why: the proxy answered before the client finished sending its body (an early upstream answer, a
 * refusal, an upstream failure). Closing a socket whose receive buffer still holds request bytes makes
 * the kernel send a TCP RST, and a client that is still writing its upload then fails with EPIPE or
 * ECONNRESET and loses the answer it has not read yet (a client that sends its whole body before reading,
 * as most do, always loses it). So: FIN right after the response, read and throw away what the client
 * still sends, and close once the client has closed its side or after {@link LINGER_MS}.
 */
export function lingerAfterResponse(req: IncomingMessage): void {
  const socket = req.socket as LingeringSocket | null;
  if (socket === null || socket.destroyed || socket[kLinger] !== undefined) return;
  socket[kLinger] = { req, timer: undefined };
  // Node's server calls destroySoon() once the last response on a connection is finished.
  socket.destroySoon = lingeringClose;
}

/** Whether the connection is closing in stages: requests still parsed on it are not served. */
export function isLingering(socket: Socket): boolean {
  return (socket as LingeringSocket)[kLinger] !== undefined;
}

function lingeringClose(this: LingeringSocket): void {
  const linger = this[kLinger];
  if (this.destroyed || linger === undefined || linger.timer !== undefined) return;
  // The body was read through meanwhile: nothing is left unread, an ordinary close sends no RST.
  if (linger.req.complete) return Socket.prototype.destroySoon.call(this);
  this.end();
  // The HTTP parser goes on reading: body bytes of a request that is dumped are dropped, not buffered
  // (and a request undici has already destroyed would otherwise stop the socket's reading).
  (linger.req as IncomingMessage & { _dump?: () => void })._dump?.();
  this.resume();
  linger.timer = setTimeout(destroySocket, LINGER_MS, this);
  this.once('close', clearLinger);
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

function clearLinger(this: LingeringSocket): void {
  clearTimeout(this[kLinger]?.timer);
}
