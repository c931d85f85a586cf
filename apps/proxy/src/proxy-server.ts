// The client-facing HTTP listener. Each request goes one way: its head is read once, validated, and an
// Exchange forwards it through the dispatcher (which picks the upstream, or answers that none can take
// it); what is refused is answered by refusal.ts, what the parser cannot read by client-errors.ts.
// Every way ends in account.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { clientErrorHandler } from './client-errors.js';
import { Exchange, kExchange } from './exchange.js';
import { isLingering } from './node-internals.js';
import type { ProxyContext } from './proxy-context.js';
import { readRequestHead } from './request-head.js';
import { validate } from './request-validation.js';
import { isRefused, refuse, refuseConnect } from './refusal.js';
import { upgradeListener } from './upgrade.js';

type ReqWithExchange = IncomingMessage & { [kExchange]?: Exchange };

function onRequestBodyTimeout(this: ReqWithExchange): void {
  if (!this.complete) this[kExchange]?.clientTimedOut();
}

function onRequestEnd(this: ReqWithExchange): void {
  this.socket?.setTimeout(0);
}

export function createProxyServer(ctx: ProxyContext): Server {
  const clientTimeout = ctx.config.clientTimeout;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // Pipelined behind a refused request, or behind an answer after which the connection is closing:
    // not forwarded, not answered (the connection closes once the answer before it is out).
    if (isRefused(req.socket) || isLingering(req.socket)) return;
    const head = readRequestHead(req, performance.now());
    const invalid = validate(head);
    if (invalid !== undefined) return refuse(ctx, req, res, head, invalid);
    const exchange = new Exchange(ctx, req, res, head);
    if (head.bodyLength !== 0 && !req.complete) {
      req.setTimeout(clientTimeout, onRequestBodyTimeout);
      req.once('end', onRequestEnd);
    }
    exchange.start();
  }

  const server = createServer(
    {
      requestTimeout: 0, // bodies may take long; idle time between body chunks is bounded instead
      headersTimeout: clientTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(clientTimeout / 4))),
      keepAliveTimeout: 5000,
      // A missing Host is refused by validate(), with the proxy's JSON error, log record and count
      // (Node's own check answers a bare 400 that is neither logged nor counted).
      requireHostHeader: false,
      noDelay: true,
    },
    handle,
  );

  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    refuseConnect(ctx, readRequestHead(req, performance.now()), socket);
  });

  // Node answers an Expect other than 100-continue itself with a bare 417 (no body, not logged, not
  // counted) unless someone listens: refuse it like any other request the proxy will not forward.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    refuse(ctx, req, res, readRequestHead(req, performance.now()), 'EXPECTATION_FAILED');
  });

  // Connection: Upgrade: a WebSocket handshake is tunnelled, anything else replayed as a plain request.
  server.on('upgrade', upgradeListener(ctx, server));

  server.on('clientError', clientErrorHandler(ctx));
  return server;
}
