// Routes and answers every request of the echo server: the probes, `/metrics`, and the JSON echo of a
// `POST`, with the errors in between. Per-request state and its listeners: echo-request.ts; metrics and
// access log: request-accounting.ts; the answers to Node's client errors: client-error.ts; writing a
// decided response: reply-writer.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { clientErrorCode, clientErrorMessage } from './client-error.js';
import {
  announcesBody,
  kClientErrorSeen,
  kInFlight,
  onBodyData,
  onBodyEnd,
  trackOnSocket,
  untrackOnSocket,
  type EchoRequest,
  type TrackedSocket,
} from './echo-request.js';
import { EndOfTurnBatch } from './end-of-turn-batch.js';
import { ERROR_STATUS, errorBody, rawErrorResponse, type EchoErrorCode } from './errors.js';
import { invalidJsonMessage } from './json-body.js';
import { closeAfterResponse, LINGER_MS } from './linger.js';
import { isJsonMediaType } from './media-type.js';
import { RequestAccounting, type HandlerLogger, type HandlerMetrics } from './request-accounting.js';
import { writeReply } from './reply-writer.js';

export interface EchoHandlerOptions {
  /** Largest accepted body in bytes. */
  maxBody: number;
  logger: HandlerLogger;
  metrics: HandlerMetrics;
  /** Serves `GET|HEAD /metrics` (Prometheus exposition). */
  serveMetrics: (req: IncomingMessage, res: ServerResponse) => void;
}

const PROBE_PATHS = new Set(['/health', '/ready', '/metrics']);
const ALLOW_POST = 'POST';
const ALLOW_PROBE = 'GET, HEAD, POST';

const HEALTH_BODY = Buffer.from('{"status":"ok"}');
const READY_BODY = Buffer.from('{"status":"ready"}');
const DRAINING_BODY = Buffer.from('{"status":"draining"}');

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

  readonly #accounting: RequestAccounting;
  readonly #serveMetrics: (req: IncomingMessage, res: ServerResponse) => void;
  /** Responses decided in this loop turn, written together at its end. */
  readonly #replies = new EndOfTurnBatch<EchoRequest>(
    (req) => this.#writeReply(req),
    (err, req) => this.#replyFailed(err, req),
  );

  constructor(options: EchoHandlerOptions) {
    this.maxBody = options.maxBody;
    this.tooLargeMessage = `the request body is larger than the ${options.maxBody}-byte limit`;
    this.#accounting = new RequestAccounting(options.logger, options.metrics);
    this.#serveMetrics = options.serveMetrics;
  }

  /** Replaces the logger (the echo process names its logger after the port, known only once listening). */
  setLogger(logger: HandlerLogger): void {
    this.#accounting.setLogger(logger);
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
      this.#accounting.clientErrorDropped(err, socket);
      socket.destroy();
      return;
    }
    tracked[kClientErrorSeen] = true;
    // Responses decided earlier in this turn are written first: an error written below must follow them.
    this.#replies.flush();
    const message = clientErrorMessage(code);
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
      this.#accounting.clientErrorDropped(err, socket);
      socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(code, message));
    socket.destroySoon();
    this.#accounting.clientErrorAnswered(err, socket, ERROR_STATUS[code], code);
  };

  #begin(req: EchoRequest, res: ServerResponse): void {
    req.startedAt = performance.now();
    this.inFlight++;
    req.handler = this;
    req.response = res;
    trackOnSocket(req);
    this.#accounting.started();
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
    const problem = invalidJsonMessage(body);
    if (problem !== undefined) return this.fail(req, 'INVALID_JSON', problem);
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
    untrackOnSocket(req);
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
    // Draining may have started since the response was decided: it closes the connection all the same.
    writeReply(req, body, this.name, req.closeAfter || this.draining);
    this.#record(req, req.status, req.method === 'HEAD' ? 0 : body.length, req.errorCode);
  }

  /** Writing a response threw (a bug, not a client's doing): drop the connection, keep serving the others. */
  #replyFailed(err: unknown, req: EchoRequest): void {
    req.socket.destroy();
    this.#accounting.replyFailed(err, req);
    this.#record(req, 500, 0, 'INTERNAL_ERROR');
  }

  #metricsRequest(req: EchoRequest, res: ServerResponse): void {
    req.responded = true;
    untrackOnSocket(req);
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
    this.inFlight--;
    this.#accounting.finished(req, status, bytesOut, errorCode);
  }
}
