// The listeners an Exchange puts on its client's response: module-level functions (no closure per
// request) that find their exchange through a symbol on the response.
import type { ServerResponse } from 'node:http';
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
