// The state the echo server keeps per request and per connection, and the listeners that move a request
// along (body chunks, end of body, a client that goes away). The listeners are shared functions whose
// `this` is the request or the socket, so that nothing is allocated per request for them.
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EchoHandler } from './echo-handler.js';
import type { EchoErrorCode } from './errors.js';

/**
 * The request class the echo server gives to `http.createServer({ IncomingMessage })`: it carries the
 * per-request state, so the body listeners can be shared functions (`this` is the request) rather than
 * closures allocated per request.
 */
export class EchoRequest extends IncomingMessage {
  handler: EchoHandler | null = null;
  response: ServerResponse | null = null;
  /** `performance.now()` when the handler got the request. */
  startedAt = 0;
  /** The request target without its query string. */
  path = '';
  chunks: Buffer[] | null = null;
  /** Request body bytes received so far. */
  bodyBytes = 0;
  /** A response has been decided (or the request was given up as aborted); nothing else may answer it. */
  responded = false;
  /** The decided response, written at the end of the loop turn (see `EchoHandler.send`). */
  status = 0;
  reply: Buffer | null = null;
  errorCode: EchoErrorCode | undefined = undefined;
  /** Answer with `Connection: close`. */
  closeAfter = false;
  /** `Allow` header of a 405. */
  allow: string | undefined = undefined;
  /** A liveness or readiness probe (`GET`/`HEAD` `/health` or `/ready`): logged at debug, not info. */
  probe = false;
}

/** Where a socket keeps the request currently being served on it (for `clientError`). */
export const kInFlight = Symbol('echo.inFlight');
/** Set once `clientError` has dealt with a socket; later errors only destroy it. */
export const kClientErrorSeen = Symbol('echo.clientErrorSeen');
export interface TrackedSocket extends Socket {
  [kInFlight]?: EchoRequest | null;
  [kClientErrorSeen]?: boolean;
}

/** Whether the request announced a body (a request without Content-Length or Transfer-Encoding has none). */
export function announcesBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

/** `'data'` of a request body: counts the bytes, keeps the chunks, 413 at the first byte over the limit. */
export function onBodyData(this: EchoRequest, chunk: Buffer): void {
  if (this.responded) return;
  const received = this.bodyBytes + chunk.length;
  this.bodyBytes = received;
  const handler = this.handler as EchoHandler;
  if (received > handler.maxBody) {
    // Stop reading at the first byte over the limit; the connection is closed after the 413.
    this.pause();
    this.chunks = null;
    handler.fail(this, 'PAYLOAD_TOO_LARGE', handler.tooLargeMessage);
    return;
  }
  (this.chunks as Buffer[]).push(chunk);
}

/** `'end'` of a request body. */
export function onBodyEnd(this: EchoRequest): void {
  if (this.responded) return;
  (this.handler as EchoHandler).bodyComplete(this);
}

/** `'close'` of a connection: a request on it that was not answered has lost its client. */
export function onSocketClose(this: TrackedSocket): void {
  const req = this[kInFlight];
  if (req && !req.responded) (req.handler as EchoHandler).aborted(req);
}

/** `'close'` of a request that was still unanswered when a pipelined one arrived behind it. */
export function onRequestClose(this: EchoRequest): void {
  if (!this.responded) (this.handler as EchoHandler).aborted(this);
}

/** Starts tracking `req` as the request being served on its connection. */
export function trackOnSocket(req: EchoRequest): void {
  // One 'close' listener per connection (not per request) notices clients that go away mid-request.
  const socket = req.socket as TrackedSocket;
  const previous = socket[kInFlight];
  if (previous === undefined) socket.on('close', onSocketClose);
  else if (previous !== null && !previous.responded) previous.on('close', onRequestClose);
  socket[kInFlight] = req;
}

/** Stops tracking `req` on its connection once it has been answered. */
export function untrackOnSocket(req: EchoRequest): void {
  const socket = req.socket as TrackedSocket;
  if (socket[kInFlight] === req) socket[kInFlight] = null;
}
