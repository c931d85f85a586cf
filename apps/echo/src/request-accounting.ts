// Every request of the echo server is counted once in the metrics and written once to the access log
// (probes at debug): here, so that the handler only says what happened.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { EchoRequest } from './echo-request.js';
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

/** The metrics and the access log of one echo server. */
export class RequestAccounting {
  #logger: HandlerLogger;
  readonly #metrics: HandlerMetrics;
  #accessLog = false;
  #debugLog = false;

  constructor(logger: HandlerLogger, metrics: HandlerMetrics) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.setLogger(logger);
  }

  /** Replaces the logger (the echo process names its logger after the port, known only once listening). */
  setLogger(logger: HandlerLogger): void {
    this.#logger = logger;
    this.#accessLog = logger.isLevelEnabled('info');
    this.#debugLog = logger.isLevelEnabled('debug');
  }

  /** A request has arrived. */
  started(): void {
    this.#metrics.requestStarted();
  }

  /** A request is over: answered with `status` and `bytesOut` body bytes, or given up (499). */
  finished(req: EchoRequest, status: number, bytesOut: number, errorCode: string | undefined): void {
    const elapsedMs = performance.now() - req.startedAt;
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

  /** A client error that got no answer (the client is gone, or a response is already on the wire). */
  clientErrorDropped(err: NodeJS.ErrnoException, socket: Socket): void {
    if (this.#debugLog)
      this.#logger.debug('client error', { reason: err.code, client_ip: socket.remoteAddress });
  }

  /** A client error answered without a request object: counted with method OTHER, logged as a client error. */
  clientErrorAnswered(err: NodeJS.ErrnoException, socket: Socket, status: number, errorCode: string): void {
    this.#metrics.requestStarted();
    this.#metrics.requestFinished('OTHER', status, 0);
    if (this.#accessLog) {
      this.#logger.info('client error', {
        client_ip: socket.remoteAddress,
        status,
        error_code: errorCode,
        reason: err.code,
      });
    }
  }

  /** Writing a response threw: a bug, not a client's doing. */
  replyFailed(err: unknown, req: EchoRequest): void {
    this.#logger.error('response failed', { err, path: req.path });
  }
}
