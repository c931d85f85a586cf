// Requests the proxy refuses instead of forwarding them (4xx, or 501 / 505 for what it does not
// support), and CONNECT. Each is answered with a JSON error and accounted under `none` like any other
// request. (A request that finds no healthy upstream is answered by its Exchange: the dispatcher decides.)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { account, requestStarted } from './account.js';
import { errorBodyLength, rawErrorResponse, sendError, STATUS, type ProxyErrorCode } from './errors.js';
import { VIA } from './header-rules.js';
import { lingerAfterResponse } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import type { RequestHead } from './request-head.js';

/**
 * Set on a client socket once the proxy answered a request on it with `Connection: close` because its
 * framing or target was in doubt: requests pipelined behind that one were parsed from bytes the proxy
 * does not trust, and are never forwarded.
 */
const kRefused = Symbol('roundguard.refused');

type RefusableSocket = Socket & { [kRefused]?: boolean };

/** Whether requests on this connection are no longer served (see {@link markRefused}). */
export function isRefused(socket: Socket): boolean {
  return (socket as RefusableSocket)[kRefused] === true;
}

/** Nothing more is served on this connection: what follows on it is not forwarded, nor answered. */
export function markRefused(socket: Socket): void {
  (socket as RefusableSocket)[kRefused] = true;
}

/** Answers `code` for a request the proxy refuses itself (outcome `rejected`). */
export function refuse(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  head: RequestHead,
  code: ProxyErrorCode,
): void {
  requestStarted(ctx, null);
  const headers = ['x-request-id', head.requestId, 'via', VIA];
  // The body (if any) is not read: close the connection after the answer rather than read it through;
  // in stages when the client may still be sending it.
  markRefused(req.socket);
  if (!req.complete) lingerAfterResponse(req);
  const bytesOut = sendError(res, code, headers, true);
  account(ctx, null, {
    head,
    status: STATUS[code],
    outcome: 'rejected',
    errorCode: code,
    bytesIn: 0,
    bytesOut,
    ttfbMs: null,
  });
}

/**
 * CONNECT never reaches the request handler: Node emits 'connect', and destroys the socket without an
 * answer when nobody listens. A proxy that is not a tunnel answers 501 (RFC 9110 9.3.6).
 */
export function refuseConnect(ctx: ProxyContext, head: RequestHead, socket: Socket): void {
  requestStarted(ctx, null);
  socket.on('error', () => undefined);
  socket.end(rawErrorResponse('NOT_IMPLEMENTED'), () => socket.destroy());
  account(ctx, null, {
    head,
    status: STATUS.NOT_IMPLEMENTED,
    outcome: 'rejected',
    errorCode: 'NOT_IMPLEMENTED',
    bytesIn: 0,
    bytesOut: errorBodyLength('NOT_IMPLEMENTED'),
    ttfbMs: null,
  });
}
