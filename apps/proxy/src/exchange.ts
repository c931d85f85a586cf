// One proxied request: the undici dispatch handler that streams the upstream's answer into the client's
// response, with back-pressure both ways, and accounts for it exactly once (metrics + access log).
//
// Hot path notes: one Exchange object per request is the only allocation of our own besides the header
// arrays; listeners on `res` are module-level functions that find the exchange through a symbol (no
// closure per request); undici's legacy handler interface hands raw header Buffers straight to us.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { logRequest } from './access-log.js';
import { classifyUpstreamError, errorCode, sendError, STATUS, type Outcome } from './errors.js';
import { clientResponseHeaders, VIA } from './header-rules.js';
import type { ProxyContext } from './proxy-context.js';
import type { Upstream } from './upstreams.js';

export const kExchange = Symbol('roundguard.exchange');

/** Status logged and counted when the client went away before the answer was complete (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

const enum State {
  AwaitingHeaders,
  Streaming,
  Done,
}

/** Raised into undici to abort the upstream request when the client goes away. */
class ClientAbortError extends Error {
  readonly code = 'CLIENT_ABORT';
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientAbortError';
  }
}

/** Raised into undici when the upstream's response head cannot be forwarded (e.g. an invalid header). */
class InvalidUpstreamResponseError extends Error {
  readonly code = 'INVALID_RESPONSE';
  constructor(cause: unknown) {
    super('the upstream response cannot be forwarded', { cause });
    this.name = 'InvalidUpstreamResponseError';
  }
}

type ResWithExchange = ServerResponse & { [kExchange]?: Exchange };

function onResClose(this: ResWithExchange): void {
  this[kExchange]?.clientClosed();
}

function destroyRequestSocket(this: ResWithExchange): void {
  this.socket?.destroy();
}

function onResDrain(this: ResWithExchange): void {
  const ex = this[kExchange];
  if (ex !== undefined && ex.paused) {
    ex.paused = false;
    ex.resumeUpstream?.();
  }
}

/**
 * Request bodies of a known length up to this size are read into one Buffer before they are sent
 * upstream (nginx's client_body_buffer_size idea, bounded): undici then writes head and body in one
 * syscall instead of streaming them. Bigger or chunked bodies are streamed with back-pressure.
 * Measured (`pnpm bench` setup): reading a 100 B body first saves a syscall per request, but reading a
 * 64 KiB one first cost about 20% more CPU per request than streaming it (median of 6 paired runs:
 * 340 against 268 us/req), so the limit is 16 KiB, the size of one stream chunk.
 */
export const SMALL_BODY_LIMIT = 16 * 1024;

/**
 * Response bytes that may wait in the client connection's buffers before the upstream is paused: one
 * 64 KiB socket read, at most, is held per request (SPEC: a small bounded buffer per request).
 */
export const RESPONSE_BUFFER_LIMIT = 64 * 1024;

type ReqWithExchange = IncomingMessage & { [kExchange]?: Exchange };

function onSmallBodyData(this: ReqWithExchange, chunk: Buffer): void {
  const ex = this[kExchange];
  if (ex === undefined) return;
  if (ex.bodyChunks === null) ex.bodyChunks = [chunk];
  else ex.bodyChunks.push(chunk);
}

function onSmallBodyEnd(this: ReqWithExchange): void {
  const ex = this[kExchange];
  if (ex === undefined || ex.state === State.Done || ex.clientGone) return;
  const chunks = ex.bodyChunks;
  ex.bodyChunks = null;
  ex.send(chunks === null ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
}

export class Exchange {
  readonly ctx: ProxyContext;
  readonly req: IncomingMessage;
  readonly res: ResWithExchange;
  readonly upstream: Upstream;
  readonly requestId: string;
  readonly clientIp: string;
  readonly host: string;
  readonly startedAt: number;
  readonly path: string;
  readonly headers: string[];
  state = State.AwaitingHeaders;
  /** Chunks of a small body being read before dispatch (see {@link SMALL_BODY_LIMIT}). */
  bodyChunks: Buffer[] | null = null;
  /** Set once the request was handed to undici. */
  dispatched = false;
  status = 0;
  headersAt = 0;
  bytesIn = 0;
  bytesOut = 0;
  paused = false;
  drainListening = false;
  clientGone = false;
  /** An abort asked for before undici connected: applied in onConnect. */
  pendingAbort: Error | null = null;
  abortUpstream: ((err: Error) => void) | null = null;
  resumeUpstream: (() => void) | null = null;

  constructor(
    ctx: ProxyContext,
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    requestId: string,
    clientIp: string,
    host: string,
    startedAt: number,
    path: string,
    headers: string[],
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.upstream = upstream;
    this.requestId = requestId;
    this.clientIp = clientIp;
    this.host = host;
    this.startedAt = startedAt;
    this.path = path;
    this.headers = headers;
    this.res[kExchange] = this;
    res.on('close', onResClose);
    upstream.conn.inFlight++;
    upstream.conn.metrics.requestStarted();
    ctx.inFlight++;
  }

  /**
   * Forwards the request. `bodyLength` is the Content-Length (-1 when the body is chunked, 0 when there
   * is none): a small body of known length is read first, then sent with the head in one write.
   */
  start(bodyLength: number): void {
    const req = this.req as ReqWithExchange;
    if (bodyLength === 0) return this.send(null);
    req[kExchange] = this;
    if (bodyLength > 0 && bodyLength <= SMALL_BODY_LIMIT) {
      req.on('data', onSmallBodyData);
      req.on('end', onSmallBodyEnd);
      return;
    }
    this.send(req);
  }

  /** Hands the request to the upstream's pool. */
  send(body: Buffer | IncomingMessage | null): void {
    this.dispatched = true;
    this.upstream.conn.pool.dispatch(
      { path: this.path, method: this.req.method as string, headers: this.headers, body },
      this,
    );
  }

  get upstreamUrl(): string {
    return this.upstream.url;
  }

  // --- undici DispatchHandler (legacy interface: raw header Buffers, boolean back-pressure) ---

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.pendingAbort !== null) abort(this.pendingAbort);
  }

  /** undici 7 passes the chunk just written upstream (its typings say a size: accept both). */
  onBodySent(chunk: Buffer | string | number): void {
    this.bytesIn += typeof chunk === 'number' ? chunk : chunk.length;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    if (statusCode > 599) {
      // llhttp takes any three digits; RFC 9110 15 defines 100-599 only, and Node would send the rest on.
      this.abortUpstream?.(new InvalidUpstreamResponseError(`status code ${statusCode}`));
      return false;
    }
    if (statusCode < 200) return true; // 1xx: Node answers 100-continue itself; others are not forwarded
    if (this.state !== State.AwaitingHeaders) return false;
    this.headersAt = performance.now();
    this.upstream.conn.metrics.ttfb((this.headersAt - this.startedAt) / 1000);
    this.resumeUpstream = resume;
    try {
      // An early answer while the client is still uploading ends the client connection afterwards.
      const close = this.ctx.draining || !this.req.complete;
      this.res.writeHead(statusCode, clientResponseHeaders(rawHeaders, this.requestId, close));
    } catch (err) {
      this.abortUpstream?.(new InvalidUpstreamResponseError(err));
      return false;
    }
    this.status = statusCode;
    this.state = State.Streaming;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    const res = this.res;
    // res.write() returns false for any chunk of 16 KiB or more, even one the kernel took at once:
    // pausing undici then (its parser stops, the rest of the read is put back, reading resumes on
    // 'drain') cost more than forwarding the bytes. Back-pressure is applied once more than
    // RESPONSE_BUFFER_LIMIT is really waiting to be sent to the client.
    if (res.write(chunk) || res.writableLength <= RESPONSE_BUFFER_LIMIT) return true;
    this.paused = true;
    if (!this.drainListening) {
      this.drainListening = true;
      this.res.on('drain', onResDrain);
    }
    return false;
  }

  onComplete(_trailers: unknown): void {
    if (this.state === State.Done) return;
    this.res.end();
    this.finish(this.status, 'ok', '');
  }

  onError(err: Error): void {
    if (this.state === State.Done) return;
    if (this.clientGone || this.req.socket.destroyed || err instanceof ClientAbortError) {
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
    const failure = classifyUpstreamError(err);
    const metrics = this.upstream.conn.metrics;
    metrics.upstreamError(failure.reason);
    if (failure.connectFailure) this.ctx.balancer.markDown(this.upstream.key, failure.reason);
    if (this.state === State.AwaitingHeaders) {
      sendError(
        this.res,
        failure.code,
        ['x-request-id', this.requestId, 'via', VIA],
        this.ctx.draining || !this.req.complete,
      );
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
    if (!this.dispatched) {
      // Still reading a small body: nothing was sent upstream.
      this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', 'CLIENT_ABORT');
      return;
    }
    this.abort(new ClientAbortError());
  }

  /**
   * The client stopped sending its body for longer than `--client-timeout` (or sent a body the HTTP
   * parser refuses, e.g. a bad chunk size: `BAD_REQUEST`): answer 408 (400) when nothing was answered yet
   * (the connection is closed after it), else cut the response; abort the upstream request.
   */
  clientTimedOut(code: 'REQUEST_TIMEOUT' | 'BAD_REQUEST' = 'REQUEST_TIMEOUT'): void {
    if (this.state === State.Done) return;
    if (this.state === State.AwaitingHeaders) {
      sendError(this.res, code, ['x-request-id', this.requestId, 'via', VIA], true);
      this.finish(STATUS[code], 'client_abort', code);
    } else {
      this.res.destroy();
      this.finish(this.status, 'client_abort', code);
    }
    if (this.dispatched) this.abort(new ClientAbortError());
    // Whatever the client still sends is not read: close its connection once the answer is out.
    this.res.once('finish', destroyRequestSocket);
  }

  /** Aborts the upstream request now, or as soon as undici connects. */
  private abort(err: Error): void {
    if (this.abortUpstream !== null) this.abortUpstream(err);
    else this.pendingAbort = err;
  }

  private finish(status: number, outcome: Outcome, error: string): void {
    this.state = State.Done;
    const ctx = this.ctx;
    const conn = this.upstream.conn;
    conn.inFlight--;
    ctx.inFlight--;
    const durationMs = performance.now() - this.startedAt;
    conn.metrics.requestFinished(this.req.method ?? 'GET', status, outcome, durationMs / 1000);
    logRequest(
      ctx.logger,
      this.req,
      status,
      outcome,
      error,
      this,
      durationMs,
      this.headersAt === 0 ? null : this.headersAt - this.startedAt,
    );
    if (ctx.inFlight === 0) ctx.onIdle();
  }
}
