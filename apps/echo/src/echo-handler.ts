import { isUtf8 } from 'node:buffer';
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ERROR_STATUS, errorBody, rawErrorResponse, type EchoErrorCode } from './errors.js';
import { EndOfTurnBatch } from './end-of-turn-batch.js';
import { closeAfterResponse, LINGER_MS } from './linger.js';
import { isJsonText } from './json-validate.js';
import { isJsonMediaType } from './media-type.js';
import { saneRequestId } from './request-id.js';

/** The part of `@roundguard/logger`'s `Logger` the handler uses (so tests can pass a fake). */
export interface HandlerLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  isLevelEnabled(level: 'error' | 'warn' | 'info' | 'debug'): boolean;
}

/** The part of `@roundguard/metrics`' HTTP server metrics the handler uses. */
export interface HandlerMetrics {
  requestStarted(): void;
  requestFinished(method: string, status: number, durationSeconds: number): void;
}

export interface EchoHandlerOptions {
  /** Largest accepted body in bytes. */
  maxBody: number;
  logger: HandlerLogger;
  metrics: HandlerMetrics;
  /** Serves `GET|HEAD /metrics` (Prometheus exposition). */
  serveMetrics: (req: IncomingMessage, res: ServerResponse) => void;
}

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
  /** The decided response, written at the end of the loop turn (see `EchoHandler.#send`). */
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
const kInFlight = Symbol('echo.inFlight');
/** Set once `clientError` has dealt with a socket; later errors only destroy it. */
const kClientErrorSeen = Symbol('echo.clientErrorSeen');
interface TrackedSocket extends Socket {
  [kInFlight]?: EchoRequest | null;
  [kClientErrorSeen]?: boolean;
}

const PROBE_PATHS = new Set(['/health', '/ready', '/metrics']);
const ALLOW_POST = 'POST';
const ALLOW_PROBE = 'GET, HEAD, POST';
const JSON_TYPE = 'application/json';

/** Bodies up to this size are written as latin1 strings (see `#send`). */
const SMALL_BODY = 16 * 1024;

const HEALTH_BODY = Buffer.from('{"status":"ok"}');
const READY_BODY = Buffer.from('{"status":"ready"}');
const DRAINING_BODY = Buffer.from('{"status":"draining"}');

/** Which error, if any, a `clientError` from Node's HTTP parser or request timer is answered with. */
function clientErrorCode(code: string | undefined): EchoErrorCode | undefined {
  // The client closed its side in the middle of a request: it has gone away, like a reset.
  if (code === 'HPE_INVALID_EOF_STATE') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'PAYLOAD_TOO_LARGE';
  if (code?.startsWith('HPE_')) return 'BAD_REQUEST';
  return undefined; // a network error (ECONNRESET, EPIPE...): nobody left to answer
}

const CLIENT_ERROR_MESSAGES: Record<string, string> = {
  REQUEST_TIMEOUT: 'the request was not received in time',
  HEADERS_TOO_LARGE: 'the request headers are too large',
  PAYLOAD_TOO_LARGE: 'the request chunk extensions are too large',
  BAD_REQUEST: 'the request is not valid HTTP/1.1',
};

/** Whether the request announced a body (a request without Content-Length or Transfer-Encoding has none). */
function announcesBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

function onBodyData(this: EchoRequest, chunk: Buffer): void {
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

function onBodyEnd(this: EchoRequest): void {
  if (this.responded) return;
  (this.handler as EchoHandler).bodyComplete(this);
}

/** `'close'` of a connection: a request on it that was not answered has lost its client. */
function onSocketClose(this: TrackedSocket): void {
  const req = this[kInFlight];
  if (req && !req.responded) (req.handler as EchoHandler).aborted(req);
}

/** `'close'` of a request that was still unanswered when a pipelined one arrived behind it. */
function onRequestClose(this: EchoRequest): void {
  if (!this.responded) (this.handler as EchoHandler).aborted(this);
}

/**
 * Routes and answers every request of the echo server. One instance per server; the listeners are bound once.
 *
 * Order of checks for `POST`: 415 (Content-Type) → 413 (Content-Length) → read the body, 413 as soon as it
 * exceeds the limit → 400 `EMPTY_BODY` → 400 `INVALID_JSON` (bytes that are not UTF-8, or not JSON) → 200.
 */
export class EchoHandler {
  readonly maxBody: number;
  readonly tooLargeMessage: string;
  /** `X-Echo-Name`, settled once the port is known. */
  name = '';
  /** Set when shutdown starts: `/ready` answers 503 and every response closes its connection. */
  draining = false;
  /** Requests received and not yet answered (or given up). */
  inFlight = 0;

  #logger: HandlerLogger;
  readonly #metrics: HandlerMetrics;
  readonly #serveMetrics: (req: IncomingMessage, res: ServerResponse) => void;
  #accessLog = false;
  #debugLog = false;
  /** Responses decided in this loop turn, written together at its end. */
  readonly #replies = new EndOfTurnBatch<EchoRequest>(
    (req) => this.#writeReply(req),
    (err, req) => this.#replyFailed(err, req),
  );

  constructor(options: EchoHandlerOptions) {
    this.maxBody = options.maxBody;
    this.tooLargeMessage = `the request body is larger than the ${options.maxBody}-byte limit`;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#serveMetrics = options.serveMetrics;
    this.setLogger(options.logger);
  }

  /** Replaces the logger (the echo process names its logger after the port, known only once listening). */
  setLogger(logger: HandlerLogger): void {
    this.#logger = logger;
    this.#accessLog = logger.isLevelEnabled('info');
    this.#debugLog = logger.isLevelEnabled('debug');
  }

  /** `'request'` listener. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#dispatch(req as EchoRequest, res, false);
  };

  /** `'checkContinue'` listener: `100 Continue` is sent only when the request passes the header checks. */
  readonly onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    this.#dispatch(req as EchoRequest, res, true);
  };

  /** `'checkExpectation'` listener: any `Expect` other than `100-continue` gets 417. */
  readonly onCheckExpectation = (req: IncomingMessage, res: ServerResponse): void => {
    const echoReq = req as EchoRequest;
    this.#begin(echoReq, res);
    this.fail(echoReq, 'EXPECTATION_FAILED', 'only "Expect: 100-continue" is supported');
  };

  /**
   * `'clientError'` listener: a request Node could not parse, a request that timed out, or a network error.
   * Answers with a JSON error when that cannot corrupt a response already on the wire, then closes the socket.
   */
  readonly onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const tracked = socket as TrackedSocket;
    const code = clientErrorCode(err.code);
    if (tracked[kClientErrorSeen] === true || code === undefined) {
      if (this.#debugLog)
        this.#logger.debug('client error', { reason: err.code, client_ip: socket.remoteAddress });
      socket.destroy();
      return;
    }
    tracked[kClientErrorSeen] = true;
    // Responses decided earlier in this turn are written first: an error written below must follow them.
    this.#replies.flush();
    const message = CLIENT_ERROR_MESSAGES[code] as string;
    const req = tracked[kInFlight];
    const res = req?.response;
    if (req && res && !req.responded && !res.headersSent) {
      // A request is being served (e.g. its body stopped arriving): answer it, so it is logged as usual.
      this.fail(req, code, message, true);
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    if (!socket.writable || (req && res && !res.writableFinished)) {
      // Already closing (e.g. after an early 413), or a response is still on its way: nothing can be added.
      if (this.#debugLog)
        this.#logger.debug('client error', { reason: err.code, client_ip: socket.remoteAddress });
      socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(code, message));
    socket.destroySoon();
    // No request object exists: counted with method OTHER, logged as a client error.
    const status = ERROR_STATUS[code];
    this.#metrics.requestStarted();
    this.#metrics.requestFinished('OTHER', status, 0);
    if (this.#accessLog) {
      this.#logger.info('client error', {
        client_ip: socket.remoteAddress,
        status,
        error_code: code,
        reason: err.code,
      });
    }
  };

  #begin(req: EchoRequest, res: ServerResponse): void {
    req.startedAt = performance.now();
    this.inFlight++;
    req.handler = this;
    req.response = res;
    // One 'close' listener per connection (not per request) notices clients that go away mid-request.
    const socket = req.socket as TrackedSocket;
    const previous = socket[kInFlight];
    if (previous === undefined) socket.on('close', onSocketClose);
    else if (previous !== null && !previous.responded) previous.on('close', onRequestClose);
    socket[kInFlight] = req;
    this.#metrics.requestStarted();
    const url = req.url as string;
    const query = url.indexOf('?');
    req.path = query === -1 ? url : url.slice(0, query);
  }

  #dispatch(req: EchoRequest, res: ServerResponse, expectContinue: boolean): void {
    this.#begin(req, res);
    const method = req.method;
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      this.fail(req, 'BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
      return;
    }
    if (method === 'POST') {
      this.#post(req, res, expectContinue);
      return;
    }
    const path = req.path;
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/health') {
        req.probe = true;
        return this.#send(req, 200, HEALTH_BODY, undefined);
      }
      if (path === '/ready') {
        req.probe = true;
        if (this.draining) return this.#send(req, 503, DRAINING_BODY, undefined);
        return this.#send(req, 200, READY_BODY, undefined);
      }
      if (path === '/metrics') return this.#metricsRequest(req, res);
    }
    const allow = PROBE_PATHS.has(path) ? ALLOW_PROBE : ALLOW_POST;
    this.fail(
      req,
      'METHOD_NOT_ALLOWED',
      `method ${method} is not allowed here (allowed: ${allow})`,
      false,
      allow,
    );
  }

  #post(req: EchoRequest, res: ServerResponse, expectContinue: boolean): void {
    const headers = req.headers;
    if (!isJsonMediaType(headers['content-type'])) {
      this.fail(
        req,
        'UNSUPPORTED_MEDIA_TYPE',
        'the Content-Type must be application/json or application/*+json',
      );
      return;
    }
    const length = headers['content-length'];
    if (length !== undefined) {
      // Node has already checked it is a number: decide before reading a byte.
      const declared = Number(length);
      if (declared > this.maxBody) return this.fail(req, 'PAYLOAD_TOO_LARGE', this.tooLargeMessage);
      if (declared === 0) return this.fail(req, 'EMPTY_BODY', 'the request body is empty');
    } else if (headers['transfer-encoding'] === undefined) {
      return this.fail(req, 'EMPTY_BODY', 'the request body is empty');
    }
    if (expectContinue) res.writeContinue();
    req.chunks = [];
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
  }

  /** The whole body is in: validate it and echo it back. */
  bodyComplete(req: EchoRequest): void {
    const chunks = req.chunks as Buffer[];
    req.chunks = null;
    const size = req.bodyBytes;
    if (size === 0) return this.fail(req, 'EMPTY_BODY', 'the request body is empty');
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    if (!isJsonText(body)) {
      // Not UTF-8, or not JSON (the validator agrees with JSON.parse, see json-validate.ts): say which.
      if (!isUtf8(body)) return this.fail(req, 'INVALID_JSON', 'the request body is not valid UTF-8');
      try {
        JSON.parse(body.toString('utf8'));
      } catch (err) {
        this.fail(req, 'INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
        return;
      }
    }
    this.#send(req, 200, body, undefined);
  }

  /** The client went away before its request was answered. Logged and counted as 499, like nginx. */
  aborted(req: EchoRequest): void {
    req.responded = true;
    req.chunks = null;
    this.#record(req, 499, 0, 'CLIENT_CLOSED_REQUEST');
  }

  /**
   * Answers with the JSON error for `code`. When the request body has not been read (or not completely),
   * the connection is closed after the response (see `closeAfterResponse`), so that nothing unread is left to
   * be parsed as a next request.
   */
  fail(req: EchoRequest, code: EchoErrorCode, message: string, forceClose = false, allow?: string): void {
    const unreadBody = !req.complete && announcesBody(req);
    if (unreadBody && !forceClose) closeAfterResponse(req);
    this.#send(req, ERROR_STATUS[code], errorBody(code, message), code, unreadBody || forceClose, allow);
  }

  /**
   * Decides the response. It is written at the end of the loop turn, with the other responses decided in
   * the same turn (see {@link EndOfTurnBatch}), and logged once written.
   */
  #send(
    req: EchoRequest,
    status: number,
    body: Buffer,
    errorCode: EchoErrorCode | undefined,
    close = false,
    allow?: string,
  ): void {
    req.responded = true;
    const socket = req.socket as TrackedSocket;
    if (socket[kInFlight] === req) socket[kInFlight] = null;
    req.status = status;
    req.reply = body;
    req.errorCode = errorCode;
    req.closeAfter = close;
    req.allow = allow;
    this.#replies.add(req);
  }

  #writeReply(req: EchoRequest): void {
    const body = req.reply as Buffer;
    req.reply = null;
    if (req.socket.destroyed) {
      // The client went away before the end of the turn: nothing was sent.
      this.aborted(req);
      return;
    }
    const res = req.response as ServerResponse;
    const headers = [
      'Content-Type',
      JSON_TYPE,
      'Content-Length',
      String(body.length),
      'X-Echo-Name',
      this.name,
    ];
    if (req.allow !== undefined) headers.push('Allow', req.allow);
    // Draining may have started since the response was decided: it closes the connection all the same.
    if (req.closeAfter || this.draining) headers.push('Connection', 'close');
    res.writeHead(req.status, headers);
    if (body.length <= SMALL_BODY) {
      // A latin1 string maps each byte to one char and back, so the bytes are unchanged; and a string body
      // goes out in one write() together with the head, where a Buffer takes a writev() of head and body.
      res.end(body.toString('latin1'), 'latin1');
    } else {
      res.end(body);
    }
    this.#record(req, req.status, req.method === 'HEAD' ? 0 : body.length, req.errorCode);
  }

  /** Writing a response threw (a bug, not a client's doing): drop the connection, keep serving the others. */
  #replyFailed(err: unknown, req: EchoRequest): void {
    req.socket.destroy();
    this.#logger.error('response failed', { err, path: req.path });
    this.#record(req, 500, 0, 'INTERNAL_ERROR');
  }

  #metricsRequest(req: EchoRequest, res: ServerResponse): void {
    req.responded = true;
    const socket = req.socket as TrackedSocket;
    if (socket[kInFlight] === req) socket[kInFlight] = null;
    res.setHeader('X-Echo-Name', this.name);
    if (this.draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      if (!res.writableFinished) {
        this.#record(req, 499, 0, 'CLIENT_CLOSED_REQUEST');
        return;
      }
      const length = Number(res.getHeader('content-length'));
      this.#record(req, res.statusCode, req.method === 'HEAD' || !(length > 0) ? 0 : length, undefined);
    });
    this.#serveMetrics(req, res);
  }

  #record(req: EchoRequest, status: number, bytesOut: number, errorCode: string | undefined): void {
    const elapsedMs = performance.now() - req.startedAt;
    this.inFlight--;
    const method = req.method as string;
    this.#metrics.requestFinished(method, status, elapsedMs / 1000);
    // Probes come every few seconds from every balancer in front: at info they would drown the requests.
    if (!(req.probe ? this.#debugLog : this.#accessLog)) return;
    const fields: Record<string, unknown> = {
      method,
      path: req.path,
      status,
      bytes_in: req.bodyBytes,
      bytes_out: bytesOut,
      duration_ms: Math.round(elapsedMs * 1000) / 1000,
      client_ip: req.socket.remoteAddress,
    };
    const requestId = req.headers['x-request-id'];
    if (requestId !== undefined) {
      const sane = saneRequestId(requestId);
      if (sane !== undefined) fields.req_id = sane;
    }
    if (errorCode !== undefined) fields.error_code = errorCode;
    if (req.probe) this.#logger.debug('request completed', fields);
    else this.#logger.info('request completed', fields);
  }
}
