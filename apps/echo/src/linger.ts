import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** Longest a connection is kept open after an early error response, waiting for the client to stop sending. */
export const LINGER_MS = 2000;
/** Most request-body bytes read and thrown away after an early error response; then reading stops. */
export const LINGER_BYTES = 256 * 1024;

const lingering = new Set<Socket>();

/**
 * Arranges for the connection of `req` to be closed the way nginx's `lingering_close` does, once Node has
 * flushed the response (Node calls `socket.destroySoon()` after a `Connection: close` response).
 *
 * Why: when a server answers early (413 from Content-Length, 413 while counting, 415, 405 with a body) and
 * then closes a socket whose receive buffer still holds unread request bytes, the kernel sends a TCP RST
 * instead of a FIN, and the client may lose the response it was about to read, or fail its upload with
 * EPIPE/ECONNRESET before reading it. So instead: send FIN right after the response, read and discard at
 * most {@link LINGER_BYTES} more (then stop reading: no gigabytes consumed), and destroy the socket when the
 * client has finished its request or closed, or after {@link LINGER_MS}, whichever comes first.
 */
export function closeAfterResponse(req: IncomingMessage): void {
  const socket = req.socket;
  socket.destroySoon = () => linger(socket, req);
}

function linger(socket: Socket, req: IncomingMessage): void {
  if (socket.destroyed) return;
  socket.end();
  lingering.add(socket);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => {
    clearTimeout(timer);
    lingering.delete(socket);
  });
  if (req.readableEnded || req.destroyed) {
    // Nothing left to read for this request: the client has sent all it meant to.
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
    return;
  }
  let discarded = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) req.pause();
  });
  // The whole request has been read: no unread bytes remain, so closing now sends FIN, not RST.
  req.once('end', () => socket.destroy());
  req.resume();
}

/** Destroys every connection still lingering (used when the process shuts down). */
export function destroyLingeringSockets(): void {
  for (const socket of lingering) socket.destroy();
  lingering.clear();
}
