// What the HTTP parser could not make a request of, on a client connection of the proxy: malformed
// bytes, a head over the size limit, a head not received in time. Answered with a raw JSON error (or
// handed to the exchange whose body they broke) and accounted as a rejected request.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { account, requestStarted } from './account.js';
import { errorBodyLength, errorCode, parserErrorCode, rawErrorResponse, STATUS } from './errors.js';
import { kExchange, type Exchange } from './exchange.js';
import { clientAddress } from './header-rules.js';
import { responseInProgress } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import { isRefused, markRefused } from './refusal.js';

/** Set on a client socket whose parser failed while earlier requests on it were still being answered. */
const kParseFailed = Symbol('roundguard.parseFailed');

type ClientSocket = Socket & { [kParseFailed]?: boolean };
type ResponseOnSocket = ServerResponse & { [kExchange]?: Exchange };

/**
 * Writes `answer` on `socket` once every response queued on it has been sent, then closes it. Node assigns
 * the next pipelined response to the socket when the current one finishes, before the current one emits
 * 'close'. If the connection closes first (a client abort, a response with `Connection: close`), nothing
 * is written.
 */
function answerOnceIdle(socket: Socket, answer: string): void {
  if (socket.destroyed || !socket.writable) return;
  const current = responseInProgress(socket);
  if (current === null) {
    socket.write(answer);
    socket.destroySoon();
    return;
  }
  current.once('close', () => answerOnceIdle(socket, answer));
}

/** The proxy listener's `clientError` handler. */
export function clientErrorHandler(ctx: ProxyContext): (err: Error, socket: Socket) => void {
  return (err: Error, socket: ClientSocket): void => {
    // The parser, once failed, fails again on every later read: the first error was accounted already.
    if (socket[kParseFailed] === true) return;
    if (errorCode(err) === 'ECONNRESET' || !socket.writable) {
      socket.destroy(); // the client went away: nothing to answer, nothing to count
      return;
    }
    if (isRefused(socket)) {
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
    const current: ResponseOnSocket | null = responseInProgress(socket);
    const exchange = current?.[kExchange];
    if (current !== null && exchange !== undefined && !exchange.req.complete) {
      // The client closed its side mid-body: a client abort, which the exchange accounts (499) on close.
      if (errorCode(err) === 'HPE_INVALID_EOF_STATE') return void socket.destroy();
      exchange.clientTimedOut(code === 'REQUEST_TIMEOUT' ? code : 'BAD_REQUEST');
      if (current.writableFinished) socket.destroy();
      else current.once('finish', () => socket.destroy());
      return;
    }
    const startedAt = performance.now();
    requestStarted(ctx, null);
    const clientIp = clientAddress(socket.remoteAddress); // read before destroy(), which forgets the peer
    const pendingRequest: IncomingMessage | undefined = current?.req;
    if (current === null || (!current.headersSent && pendingRequest?.complete === false)) {
      // No request is pending on the socket, or the error is in the body of the one being answered and
      // nothing was sent for it yet: answer now.
      socket.end(rawErrorResponse(code));
      socket.destroy();
    } else {
      // A malformed request pipelined behind good ones still being answered (as nginx does): they are
      // answered first, then this one, then the connection closes. Nothing after it is parsed.
      markRefused(socket);
      socket[kParseFailed] = true;
      answerOnceIdle(socket, rawErrorResponse(code));
    }
    // Not a request the parser could read: its method, host and target are not known.
    const head = {
      requestId: randomUUID(),
      clientIp,
      method: undefined,
      host: undefined,
      url: undefined,
      startedAt,
    };
    account(ctx, null, {
      head,
      status: STATUS[code],
      outcome: 'rejected',
      errorCode: errorCode(err),
      bytesIn: 0,
      bytesOut: errorBodyLength(code),
      ttfbMs: null,
    });
  };
}
