// The client-facing HTTP server: validates each request, picks an upstream and hands the request to an
// Exchange; answers parser errors and client timeouts itself.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { logRequest } from './access-log.js';
import { errorCode, rawErrorResponse, sendError, STATUS, type ProxyErrorCode } from './errors.js';
import { Exchange, kExchange } from './exchange.js';
import {
  clientAddress,
  newRequestFacts,
  scanRequestHeaders,
  upstreamRequestHeaders,
  VIA,
} from './header-rules.js';
import type { ProxyContext } from './proxy-context.js';
import { originFormTarget, requestLineError, validateRequest } from './request-validation.js';

type ReqWithExchange = IncomingMessage & { [kExchange]?: Exchange };

/** Reused for every request: the handler fills it synchronously and is done with it before returning. */
const facts = newRequestFacts();

function onRequestBodyTimeout(this: ReqWithExchange): void {
  if (!this.complete) this[kExchange]?.clientTimedOut();
}

function onRequestEnd(this: ReqWithExchange): void {
  this.socket?.setTimeout(0);
}

/** Maps a Node.js HTTP parser error to the answer (RFC 9112: 400 malformed, 431, 501, 505, 408). */
export function parserErrorCode(err: unknown): ProxyErrorCode {
  switch (errorCode(err)) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'HPE_INVALID_VERSION':
      return requestLineError('version', rawPacketOf(err), bytesParsedOf(err));
    case 'HPE_INVALID_METHOD':
      return requestLineError('method', rawPacketOf(err), bytesParsedOf(err));
    default:
      return 'BAD_REQUEST';
  }
}

function rawPacketOf(err: unknown): Buffer | undefined {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  return Buffer.isBuffer(raw) ? raw : undefined;
}

function bytesParsedOf(err: unknown): number | undefined {
  const n = (err as { bytesParsed?: unknown }).bytesParsed;
  return typeof n === 'number' ? n : undefined;
}

/**
 * Set on a client socket once the proxy answered a request on it with `Connection: close` because its
 * framing or target was in doubt: requests pipelined behind that one were parsed from bytes the proxy
 * does not trust, and are never forwarded.
 */
const kRefused = Symbol('roundguard.refused');

/** Set on a client socket whose parser failed while earlier requests on it were still being answered. */
const kParseFailed = Symbol('roundguard.parseFailed');

type ClientSocket = Socket & {
  [kRefused]?: boolean;
  [kParseFailed]?: boolean;
  _httpMessage?: (ServerResponse & { req?: IncomingMessage; [kExchange]?: Exchange }) | null;
};

/**
 * Writes `answer` on `socket` once every response queued on it has been sent, then closes it. Node assigns
 * the next pipelined response to the socket when the current one finishes, before the current one emits
 * 'close'. If the connection closes first (a client abort, a response with `Connection: close`), nothing
 * is written.
 */
function answerOnceIdle(socket: ClientSocket, answer: string): void {
  if (socket.destroyed || !socket.writable) return;
  const current = socket._httpMessage;
  if (current == null) {
    socket.write(answer);
    socket.destroySoon();
    return;
  }
  current.once('close', () => answerOnceIdle(socket, answer));
}

export function createProxyServer(ctx: ProxyContext): Server {
  const { config, logger } = ctx;
  const clientTimeout = config.clientTimeout;

  function reject(
    req: IncomingMessage,
    res: ServerResponse,
    code: ProxyErrorCode,
    requestId: string,
    clientIp: string,
    startedAt: number,
  ): void {
    const status = STATUS[code];
    ctx.noUpstream.requestStarted();
    const headers = ['x-request-id', requestId, 'via', VIA];
    if (code === 'NO_HEALTHY_UPSTREAM')
      headers.push('retry-after', String(Math.max(1, Math.ceil(config.healthInterval / 1000))));
    // The body (if any) is not read: close the connection after the answer rather than read it through.
    const close = ctx.draining || !req.complete || code !== 'NO_HEALTHY_UPSTREAM';
    if (close && code !== 'NO_HEALTHY_UPSTREAM') (req.socket as ClientSocket)[kRefused] = true;
    sendError(res, code, headers, close);
    const outcome = code === 'NO_HEALTHY_UPSTREAM' ? 'no_upstream' : 'client_abort';
    const durationMs = performance.now() - startedAt;
    ctx.noUpstream.requestFinished(req.method ?? 'GET', status, outcome, durationMs / 1000);
    logRequest(
      logger,
      req,
      status,
      outcome,
      code,
      { requestId, clientIp, host: facts.host, upstreamUrl: '', bytesIn: 0, bytesOut: 0 },
      durationMs,
      null,
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // Pipelined behind a refused request: not forwarded, not answered (the connection closes once the
    // refusal is out).
    if ((req.socket as ClientSocket)[kRefused] === true) return;
    const startedAt = performance.now();
    const raw = req.rawHeaders;
    const dropped = scanRequestHeaders(raw, facts);
    const requestId = facts.requestId ?? randomUUID();
    const clientIp = clientAddress(req.socket.remoteAddress);
    const invalid = validateRequest(req, facts);
    if (invalid !== undefined) return reject(req, res, invalid, requestId, clientIp, startedAt);
    const path = originFormTarget(req.url as string);
    if (path === undefined) return reject(req, res, 'BAD_REQUEST', requestId, clientIp, startedAt);
    const upstream = ctx.balancer.pick();
    if (upstream === undefined)
      return reject(req, res, 'NO_HEALTHY_UPSTREAM', requestId, clientIp, startedAt);

    const headers = upstreamRequestHeaders(raw, dropped, facts, clientIp, requestId);
    const bodyLength =
      facts.contentLength !== '' ? Number(facts.contentLength) : facts.transferEncoding !== '' ? -1 : 0;
    const exchange = new Exchange(
      ctx,
      req,
      res,
      upstream,
      requestId,
      clientIp,
      facts.host,
      startedAt,
      path,
      headers,
    );
    if (bodyLength !== 0 && !req.complete) {
      req.setTimeout(clientTimeout, onRequestBodyTimeout);
      req.once('end', onRequestEnd);
    }
    exchange.start(bodyLength);
  }

  const server = createServer(
    {
      requestTimeout: 0, // bodies may take long; idle time between body chunks is bounded instead
      headersTimeout: clientTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(clientTimeout / 4))),
      keepAliveTimeout: 5000,
      // A missing Host is refused by validateRequest, with the proxy's JSON error, log record and count
      // (Node's own check answers a bare 400 that is neither logged nor counted).
      requireHostHeader: false,
      noDelay: true,
    },
    handle,
  );

  // CONNECT never reaches the request handler: Node emits 'connect', and destroys the socket without an
  // answer when nobody listens. A proxy that is not a tunnel answers 501 (RFC 9110 9.3.6).
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const startedAt = performance.now();
    socket.on('error', () => undefined);
    socket.end(rawErrorResponse('NOT_IMPLEMENTED'), () => socket.destroy());
    scanRequestHeaders(req.rawHeaders, facts);
    const status = STATUS.NOT_IMPLEMENTED;
    const durationMs = performance.now() - startedAt;
    ctx.noUpstream.requestStarted();
    ctx.noUpstream.requestFinished(req.method ?? 'CONNECT', status, 'client_abort', durationMs / 1000);
    const counters = {
      requestId: facts.requestId ?? randomUUID(),
      clientIp: clientAddress(socket.remoteAddress),
      host: facts.host,
      upstreamUrl: '',
      bytesIn: 0,
      bytesOut: 0,
    };
    logRequest(logger, req, status, 'client_abort', 'NOT_IMPLEMENTED', counters, durationMs, null);
  });

  // Node answers an Expect other than 100-continue itself with a bare 417 (no body, not logged, not
  // counted) unless someone listens: refuse it like any other request the proxy will not forward.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const startedAt = performance.now();
    scanRequestHeaders(req.rawHeaders, facts);
    reject(
      req,
      res,
      'EXPECTATION_FAILED',
      facts.requestId ?? randomUUID(),
      clientAddress(req.socket.remoteAddress),
      startedAt,
    );
  });

  server.on('clientError', (err: Error & { rawPacket?: Buffer }, socket: ClientSocket) => {
    // The parser, once failed, fails again on every later read: the first error was accounted already.
    if (socket[kParseFailed] === true) return;
    if (errorCode(err) === 'ECONNRESET' || !socket.writable) {
      socket.destroy(); // the client went away: nothing to answer, nothing to count
      return;
    }
    if (socket[kRefused] === true) {
      // The request was refused (answered, logged and counted) before the parser gave up on its bytes
      // (e.g. `Transfer-Encoding: gzip`): close once that answer is out.
      socket.destroySoon();
      return;
    }
    if (errorCode(err) === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0) {
      // A connection that never sent a byte (a browser's pre-connection, a port scan) is closed silently
      // after --client-timeout, as nginx does: an unsolicited 408 would be read as the answer to the next
      // request the client sends on it. Not a request: neither logged nor counted.
      socket.destroy();
      return;
    }
    const code = parserErrorCode(err);
    // A parse error inside the body of a request being forwarded (a bad chunk, or the client's end of
    // stream mid-body) belongs to that request: it is answered (400, or its response cut) and accounted
    // once, by its exchange.
    const current = socket._httpMessage;
    const exchange = current?.[kExchange];
    if (current != null && exchange !== undefined && !exchange.req.complete) {
      // The client closed its side mid-body: a client abort, which the exchange accounts (499) on close.
      if (errorCode(err) === 'HPE_INVALID_EOF_STATE') return void socket.destroy();
      exchange.clientTimedOut(code === 'REQUEST_TIMEOUT' ? code : 'BAD_REQUEST');
      if (current.writableFinished) socket.destroy();
      else current.once('finish', () => socket.destroy());
      return;
    }
    const clientIp = clientAddress(socket.remoteAddress); // read before destroy(), which forgets the peer
    const pending = current !== undefined && current !== null;
    if (!pending || (!current.headersSent && current.req?.complete === false)) {
      // No request is pending on the socket, or the error is in the body of the one being answered and
      // nothing was sent for it yet: answer now.
      socket.end(rawErrorResponse(code));
      socket.destroy();
    } else {
      // A malformed request pipelined behind good ones still being answered (as nginx does): they are
      // answered first, then this one, then the connection closes. Nothing after it is parsed.
      socket[kRefused] = true;
      socket[kParseFailed] = true;
      answerOnceIdle(socket, rawErrorResponse(code));
    }
    const status = STATUS[code];
    ctx.noUpstream.requestStarted();
    ctx.noUpstream.requestFinished('OTHER', status, 'client_abort', 0);
    if (logger.isLevelEnabled('info')) {
      logger.info('request rejected', {
        client_ip: clientIp,
        status,
        outcome: 'client_abort',
        error_code: errorCode(err),
      });
    }
  });

  return server;
}
