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
import { account, requestArrived, type EndedRequest } from './account.js';
import {
  classifyUpstreamError,
  ClientAbortError,
  errorCode,
  InvalidUpstreamResponseError,
  NO_HEALTHY_UPSTREAM_ERROR,
  sendError,
  STATUS,
} from './errors.js';
import { corkUntilEndOfTurn, endResponse, writeResponseBody } from './client-writes.js';
import { clientResponseHeaders, upstreamRequestHeaders, VIA } from './header-rules.js';
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
import { dataOf, type ProxyUpstream, type UpstreamData } from './upstreams.js';

export { kExchange };

/** Status logged and counted when the client went away before the answer was complete (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

const enum State {
  AwaitingHeaders,
  Streaming,
  Done,
}

/**
 * The upstream of an exchange is chosen by the dispatcher during {@link Exchange.send}, which tells it
 * through {@link Exchange.onUpstream} (again with the next one when a request that could not connect is
 * retried). The request is counted in flight for the process from the start, for its upstream from
 * then on, and accounted under that upstream (`none` when it got none) in `finish`.
 */
export class Exchange implements EndedRequest, BodyReader {
  readonly ctx: ProxyContext;
  readonly req: IncomingMessage;
  readonly res: ResWithExchange;
  readonly head: RequestHead;
  /** The upstream serving this request: null until the dispatcher chose one. */
  upstream: ProxyUpstream | null = null;
  /** Its `data` (metrics, in-flight count). */
  upstreamData: UpstreamData | null = null;
  /** Whether the upstream's in-flight gauge counts this request (from its connection on: no retry then). */
  metered = false;
  state = State.AwaitingHeaders;
  /** Chunks of a small body being read before dispatch (see request-body.ts). */
  bodyChunks: Buffer[] | null = null;
  /** Set once the request was handed to undici. */
  dispatched = false;
  /** The body is streamed to undici: bytes read from the client are those undici reports sent. */
  streamedBody = false;
  status = 0;
  outcome: Outcome = 'ok';
  errorCode = '';
  ttfbMs: number | null = null;
  bytesIn = 0;
  bytesOut = 0;
  paused = false;
  drainListening = false;
  clientGone = false;
  /** Its response waits behind another on the connection (pipelining): see watchQueued. */
  queued = false;
  /** An abort asked for before undici connected: applied in onConnect. */
  pendingAbort: Error | null = null;
  abortUpstream: ((err: Error) => void) | null = null;
  resumeUpstream: (() => void) | null = null;

  constructor(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, head: RequestHead) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.head = head;
    this.res[kExchange] = this;
    res.on('close', onResClose);
    if (res.socket === null && req.socket !== null) {
      this.queued = true;
      watchQueued(this, req.socket);
    }
    requestArrived(ctx);
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
    const head = this.head;
    this.ctx.dispatcher.dispatch(
      {
        path: head.target as string,
        method: head.method,
        headers: upstreamRequestHeaders(this.req.rawHeaders, head),
        body,
      },
      this,
    );
  }

  // --- the dispatcher's hook, then undici DispatchHandler (legacy interface: raw header Buffers,
  // boolean back-pressure) ---

  /** The dispatcher chose `upstream` (again on a retry: the request moves to the next one). */
  onUpstream(upstream: ProxyUpstream): void {
    const data = upstream.data ?? dataOf(upstream, this.ctx.metrics, this.ctx.history);
    if (this.upstreamData !== null) this.upstreamData.inFlight--;
    data.inFlight++;
    this.upstream = upstream;
    this.upstreamData = data;
  }

  onConnect(abort: (err?: Error) => void): void {
    // Written to a connection from now on: it stays with this upstream (retries happen only before).
    if (!this.metered && this.upstreamData !== null) {
      this.metered = true;
      this.upstreamData.metrics.requestStarted();
    }
    this.abortUpstream = abort;
    if (this.pendingAbort !== null) abort(this.pendingAbort);
  }

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
    try {
      // An early answer while the client is still uploading ends the client connection afterwards.
      this.res.writeHead(
        statusCode,
        clientResponseHeaders(rawHeaders, this.head.requestId, this.closeAfter()),
      );
    } catch (err) {
      this.abortUpstream?.(new InvalidUpstreamResponseError(err));
      return false;
    }
    this.status = statusCode;
    this.state = State.Streaming;
    corkUntilEndOfTurn(this.req.socket);
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
    if (this.upstream === null && code === NO_HEALTHY_UPSTREAM_ERROR) {
      // Delivered during dispatch: no upstream can take it (the dispatcher decides, at once).
      const headers = this.errorHeaders();
      headers.push('retry-after', this.ctx.retryAfter);
      this.bytesOut = sendError(this.res, 'NO_HEALTHY_UPSTREAM', headers, this.closeAfter());
      this.finish(STATUS.NO_HEALTHY_UPSTREAM, 'no_upstream', 'NO_HEALTHY_UPSTREAM');
      return;
    }
    const failure = classifyUpstreamError(err);
    if (this.state === State.AwaitingHeaders) {
      this.bytesOut = sendError(this.res, failure.code, this.errorHeaders(), this.closeAfter());
      this.finish(failure.status, failure.outcome, failure.reason);
    } else {
      // Headers are out: cut the response so the client sees an aborted body, never a "complete" one.
      this.res.destroy();
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

  /** Headers of an error answer the proxy writes itself. */
  private errorHeaders(): string[] {
    return ['x-request-id', this.head.requestId, 'via', VIA];
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

  /** Aborts the upstream request now, or as soon as undici connects. */
  private abort(err: Error): void {
    if (this.abortUpstream !== null) this.abortUpstream(err);
    else this.pendingAbort = err;
  }

  private finish(status: number, outcome: Outcome, error: string): void {
    this.state = State.Done;
    if (this.queued) unwatchQueued(this, this.req.socket);
    this.status = status;
    this.outcome = outcome;
    this.errorCode = error;
    const data = this.upstreamData;
    // Ended before it was written to a connection: counted in flight just now (under `none` when it got
    // no upstream), so that the gauge's +1 and -1 stay paired.
    if (!this.metered) (data === null ? this.ctx.noUpstream : data.metrics).requestStarted();
    account(this.ctx, data, this);
  }
}
