// The relay of an open tunnel: bytes are copied between the client's socket and the upstream's as they
// come, with back-pressure both ways (a side whose peer's socket buffer is full is paused until it
// drains), so that a tunnel holds no more than the two sockets' buffers whatever its traffic. A FIN is
// passed on; a side that closes abruptly (reset, error) takes the other down at once. Once both sockets
// are closed the owner is told, once.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Outcome } from '@roundguard/metrics';

/** What the relay reports to (a {@link Tunnel}). */
export interface RelayOwner {
  /** `n` bytes went from the client upstream (`up`), or from the upstream to the client. */
  counted(up: boolean, n: number): void;
  /** Records why the tunnel ends, when it is the first reason. */
  blame(outcome: Outcome, code: string): void;
  /** No byte went either way for the idle timeout. */
  idle(): void;
  /** Both sockets are closed. */
  closed(): void;
}

/**
 * How long a tunnel may stay half-closed (one side sent its FIN, which was passed on) before both sockets
 * are destroyed: a peer that never closes its side cannot hold a tunnel open forever. WebSocket peers
 * close both ways at once after their close handshake.
 */
export const HALF_CLOSED_MS = 5000;

/**
 * Relays between `client` and `upstream` until both are closed; `idleMs` > 0 closes the tunnel after
 * that long with no byte either way (the client socket sees every byte: it reads one direction and
 * writes the other, so its own inactivity timer is the tunnel's).
 */
export function relay(owner: RelayOwner, client: Socket, upstream: Duplex, idleMs: number): void {
  let open = 2;
  let halfClosed: NodeJS.Timeout | undefined;
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  const sideEnded = (): void => {
    if (halfClosed === undefined) halfClosed = setTimeout(destroyBoth, HALF_CLOSED_MS);
  };
  const sideClosed = (): void => {
    if (--open > 0) return;
    clearTimeout(halfClosed);
    owner.closed();
  };
  pipe(owner, client, upstream, true, sideEnded, sideClosed);
  pipe(owner, upstream, client, false, sideEnded, sideClosed);
  if (idleMs > 0) {
    client.setTimeout(idleMs);
    client.on('timeout', () => owner.idle());
  }
}

/** One direction: `from`'s bytes are written to `to`; `up` says which way for the byte counts. */
function pipe(
  owner: RelayOwner,
  from: Duplex,
  to: Duplex,
  up: boolean,
  ended: () => void,
  closed: () => void,
): void {
  from.on('data', (chunk: Buffer) => {
    owner.counted(up, chunk.length);
    // The other side is gone: its close takes this one down (below); nothing more is written.
    if (to.destroyed || to.writableEnded) return;
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => {
    if (!to.destroyed && !to.writableEnded) to.end();
    ended();
  });
  from.once('close', () => {
    // Closed without a FIN (reset, error, destroyed by the proxy): the other side goes too.
    if (!from.readableEnded) to.destroy();
    closed();
  });
  from.resume();
  if (from.readableEnded) {
    // It sent its FIN before the switch: pass it on.
    to.end();
    ended();
  }
}
