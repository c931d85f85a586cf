// The listeners an Exchange puts on its client's response: module-level functions (no closure per
// request) that find their exchange through a symbol on the response.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Exchange } from './exchange.js';

export const kExchange = Symbol('roundguard.exchange');

export type ResWithExchange = ServerResponse & { [kExchange]?: Exchange };

/** `res` closed: its exchange checks whether the client went away before the answer was complete. */
export function onResClose(this: ResWithExchange): void {
  this[kExchange]?.clientClosed();
}

/** Closes the client connection once a refusal's answer is out (its unread body is not read). */
export function destroyRequestSocket(this: ResWithExchange): void {
  this.socket?.destroy();
}

/** The client took what was waiting: the upstream paused for it is resumed. */
export function onResDrain(this: ResWithExchange): void {
  const ex = this[kExchange];
  if (ex !== undefined && ex.paused) {
    ex.paused = false;
    ex.resumeUpstream?.();
  }
}

const kQueued = Symbol('roundguard.queuedExchanges');

type SocketWithQueue = Socket & { [kQueued]?: Set<Exchange> };

/**
 * An exchange whose response waits behind another on its connection (pipelining): Node emits no 'close'
 * on such a response when the connection closes, so it learns of it from the socket (else its upstream
 * request would go on, and be logged as answered, for a client that is gone).
 */
export function watchQueued(ex: Exchange, s: SocketWithQueue): void {
  let queued = s[kQueued];
  if (queued === undefined) {
    queued = s[kQueued] = new Set();
    s.once('close', onQueuedSocketClose);
  }
  queued.add(ex);
}

/** The exchange ended: the socket no longer holds it. */
export function unwatchQueued(ex: Exchange, socket: SocketWithQueue | null): void {
  socket?.[kQueued]?.delete(ex);
}

function onQueuedSocketClose(this: SocketWithQueue): void {
  const queued = this[kQueued];
  this[kQueued] = undefined;
  if (queued !== undefined) for (const ex of queued) ex.clientClosed();
}
