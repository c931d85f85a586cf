// One proxied request: the undici dispatch handler that streams the upstream's answer into the client's
// response, with back-pressure both ways, and has it accounted exactly once (account.ts).
//
// Hot path notes: the Exchange and the request head are our only objects per request besides the header
// arrays; listeners on `req` and `res` are module-level functions that find the exchange through a symbol;
// undici's legacy handler interface hands raw header Buffers straight to us; the upstream's metrics and
// in-flight count come with it in `onUpstream` (its `data` slot). What is written to the client within one
// turn leaves in one write at its end while the response is small (client-writes.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Outcome } from '@roundguard/metrics';
import {
  classifyUpstreamError,
  ClientAbortError,
  errorCode,
  InvalidUpstreamResponseError,
  sendError,
  STATUS,
} from './errors.js';
import { corkUntilEndOfTurn, endResponse, mayCoalesce, writeResponseBody } from './client-writes.js';
import { clientResponseHeaders } from './header-rules.js';
import {
  destroyRequestSocket,
  kExchange,
  onResClose,
  type ResWithExchange,
  unwatchQueued,
  watchQueued,
} from './exchange-listeners.js';
import { lingerAfterResponse } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import { readSmallBody, SMALL_BODY_LIMIT, type BodyReader } from './request-body.js';
import type { RequestHead } from './request-head.js';
import { UpstreamHandler } from './upstream-handler.js';

export { kExchange };

/** Status logged and counted when the client went away before the answer was complete (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

const enum State {
  AwaitingHeaders,
  Streaming,
  Done,
}

/** One proxied request; what it shares with a WebSocket tunnel is in {@link UpstreamHandler}. */
export class Exchange extends UpstreamHandler implements BodyReader {
  readonly res: ResWithExchange;
  state = State.AwaitingHeaders;
  /** Chunks of a small body being read before dispatch (see request-body.ts). */
  bodyChunks: Buffer[] | null = null;
  /** Set once the request was handed to undici. */
  dispatched = false;
  /** The body is streamed to undici: bytes read from the client are those undici reports sent. */
  streamedBody = false;
  paused = false;
  drainListening = false;
  clientGone = false;
  /** Its response waits behind another on the connection (pipelining): see watchQueued. */
  queued = false;
  resumeUpstream: (() => void) | null = null;

  constructor(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, head: RequestHead) {
    super(ctx, req, head);
    this.res = res;
    this.res[kExchange] = this;
    res.on('close', onResClose);
    if (res.socket === null && req.socket !== null) {
      this.queued = true;
      watchQueued(this, req.socket);
    }
  }

  /**
   * Forwards the request. A small body of known length is read first, then sent with the head in one
   * write; a bigger or chunked one is streamed.
   */
  start(): void {
    const bodyLength = this.head.bodyLength;
    if (bodyLength === 0) return this.send(null);
    (this.req as IncomingMessage & { [kExchange]?: Exchange })[kExchange] = this;
    if (bodyLength > 0 && bodyLength <= SMALL_BODY_LIMIT) return readSmallBody(this.req, this);
    this.streamedBody = true;
    this.send(this.req);
  }

  /** Whether the exchange ended (or its client left) while its small body was being read. */
  get abandoned(): boolean {
    return this.state === State.Done || this.clientGone;
  }

  /** The one dispatch call: the dispatcher picks the upstream, this exchange streams its answer back. */
  send(body: Buffer | IncomingMessage | null): void {
    this.dispatched = true;
    this.dispatch(body);
  }

  // --- the rest of undici's DispatchHandler (legacy interface: raw header Buffers, boolean
  // back-pressure); onUpstream and onConnect are UpstreamHandler's ---

  /** undici 7 passes the chunk just written upstream (its typings say a size: accept both). */
  onBodySent(chunk: Buffer | string | number): void {
    if (this.streamedBody) this.bytesIn += typeof chunk === 'number' ? chunk : chunk.length;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    if (statusCode > 599) {
      // llhttp takes any three digits; RFC 9110 15 defines 100-599 only, and Node would send the rest on.
      this.abortUpstream?.(new InvalidUpstreamResponseError(`status code ${statusCode}`));
      return false;
    }
    if (statusCode < 200) return true; // 1xx: Node answers 100-continue itself; others are not forwarded
    if (this.state !== State.AwaitingHeaders) return false;
    this.ttfbMs = performance.now() - this.head.startedAt;
    this.resumeUpstream = resume;
    let headers: string[];
    try {
      // An early answer while the client is still uploading ends the client connection afterwards.
      headers = clientResponseHeaders(rawHeaders, this.head.requestId, this.closeAfter());
      this.res.writeHead(statusCode, headers);
    } catch (err) {
      this.abortUpstream?.(new InvalidUpstreamResponseError(err));
      return false;
    }
    this.status = statusCode;
    this.state = State.Streaming;
    // A response declared larger than the coalescing limit streams at once; others wait for the turn's end.
    if (mayCoalesce(headers)) corkUntilEndOfTurn(this.req.socket);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return writeResponseBody(this, chunk);
  }

  onComplete(_trailers: unknown): void {
    if (this.state === State.Done) return;
    endResponse(this);
    this.finish(this.status, 'ok', '');
  }

  onError(err: Error): void {
    if (this.state === State.Done) return;
    if (this.clientGone || this.req.socket?.destroyed === true || err instanceof ClientAbortError) {
      if (!this.res.destroyed && !this.res.writableEnded) this.res.destroy();
      this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', 'CLIENT_ABORT');
      return;
    }
    const code = errorCode(err);
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      // The client's body ended short of its Content-Length: the client is at fault and gone.
      this.res.destroy();
      this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', code);
      return;
    }
    if (this.state === State.AwaitingHeaders) {
      const failure = this.answerFailure(err, this.res, this.closeAfter());
      this.finish(failure.status, failure.outcome, failure.reason);
    } else {
      // Headers are out: cut the response so the client sees an aborted body, never a "complete" one.
      this.res.destroy();
      const failure = classifyUpstreamError(err);
      this.finish(this.status, failure.outcome, failure.reason);
    }
  }

  // --- client side ---

  /** `res` closed: when the answer was not complete, the client went away: abort the upstream request. */
  clientClosed(): void {
    if (this.state === State.Done) return;
    if (this.res.writableFinished) return;
    this.clientGone = true;
    // Still reading a small body: nothing was sent upstream.
    if (!this.dispatched) this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', 'CLIENT_ABORT');
    else this.abort(new ClientAbortError());
  }

  /**
   * The client stopped sending its body for longer than `--client-timeout` (or sent a body the HTTP
   * parser refuses, e.g. a bad chunk size: `BAD_REQUEST`): answer 408 (400) when nothing was answered yet
   * (a refusal; the connection is closed after it), else cut the response; abort the upstream request.
   */
  clientTimedOut(code: 'REQUEST_TIMEOUT' | 'BAD_REQUEST' = 'REQUEST_TIMEOUT'): void {
    if (this.state === State.Done) return;
    if (this.state === State.AwaitingHeaders) {
      this.bytesOut = sendError(this.res, code, this.errorHeaders(), true);
      this.finish(STATUS[code], 'rejected', code);
    } else {
      this.res.destroy();
      this.finish(this.status, 'client_abort', code);
    }
    if (this.dispatched) this.abort(new ClientAbortError());
    // Whatever the client still sends is not read: close its connection once the answer is out.
    this.res.once('finish', destroyRequestSocket);
  }

  /**
   * Whether the client connection ends after this answer: while draining, and when the request body is
   * not all read yet (then closed in stages, so that the client can read the answer).
   */
  private closeAfter(): boolean {
    if (this.req.complete) return this.ctx.draining;
    lingerAfterResponse(this.req);
    return true;
  }

  private finish(status: number, outcome: Outcome, error: string): void {
    this.state = State.Done;
    if (this.queued) unwatchQueued(this, this.req.socket);
    this.accountAs(status, outcome, error);
  }
}
