// Every use of Node.js' private http internals, in one file: the response a client socket is busy with
// (`socket._httpMessage`). Node has no public API for it; a Node upgrade that changes it breaks here.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type InternalSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * The response Node is writing on a client socket, or `null` when there is none: an idle keep-alive
 * connection, or one that has not sent a complete request head yet.
 */
export function responseInProgress(socket: Socket): ServerResponse | null {
  return (socket as InternalSocket)._httpMessage ?? null;
}
