import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EchoHandler } from './echo-handler.js';
import { EchoRequest } from './echo-request.js';
import type { HandlerLogger, HandlerMetrics } from './request-accounting.js';

/** Time an idle keep-alive connection is kept open (Node's default; clients reuse connections within it). */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

export interface EchoServerOptions {
  port: number;
  host: string;
  /** `X-Echo-Name`; `undefined` means `echo-<bound port>`. */
  name: string | undefined;
  maxBody: number;
  /** Time for a whole request (headers and body) in ms, then 408; 0 = no limit. */
  requestTimeout: number;
  logger: HandlerLogger;
  metrics: HandlerMetrics;
  serveMetrics: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface EchoServer {
  readonly server: Server;
  readonly handler: EchoHandler;
  /** Starts listening; resolves with the bound address and the settled name. Rejects on a listen error. */
  listen(): Promise<{ host: string; port: number; name: string }>;
}

/** How often Node looks for requests past `requestTimeout`: often enough for the timeout to be accurate. */
function checkingInterval(requestTimeout: number): number {
  if (requestTimeout === 0) return 30_000;
  return Math.min(1000, Math.max(50, Math.floor(requestTimeout / 4)));
}

/** Builds the echo HTTP server (not yet listening). */
export function createEchoServer(options: EchoServerOptions): EchoServer {
  const handler = new EchoHandler({
    maxBody: options.maxBody,
    logger: options.logger,
    metrics: options.metrics,
    serveMetrics: options.serveMetrics,
  });
  const server = createServer({
    IncomingMessage: EchoRequest,
    requestTimeout: options.requestTimeout,
    // Node requires headersTimeout <= requestTimeout; one budget covers headers and body.
    headersTimeout: options.requestTimeout,
    connectionsCheckingInterval: checkingInterval(options.requestTimeout),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Checked by the handler instead, so that the 400 has the JSON error body.
    requireHostHeader: false,
  });
  server.on('request', handler.onRequest);
  server.on('checkContinue', handler.onCheckContinue);
  server.on('checkExpectation', handler.onCheckExpectation);
  server.on('clientError', handler.onClientError);

  function listen(): Promise<{ host: string; port: number; name: string }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(options.port, options.host, () => {
        server.off('error', onError);
        const address = server.address() as AddressInfo;
        handler.name = options.name ?? `echo-${address.port}`;
        resolve({ host: address.address, port: address.port, name: handler.name });
      });
    });
  }

  return { server, handler, listen };
}
