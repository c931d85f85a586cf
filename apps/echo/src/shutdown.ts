import type { Server } from 'node:http';
import type { EchoHandler } from './echo-handler.js';
import { destroyLingeringSockets } from './linger.js';

export interface ShutdownLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface GracefulShutdownOptions {
  server: Server;
  handler: EchoHandler;
  logger: ShutdownLogger;
  /** How long in-flight requests may take, in ms, before the remaining connections are destroyed. */
  timeoutMs: number;
  /** What started the shutdown, for the log (`SIGTERM`, `SIGINT`). */
  reason: string;
}

export interface GracefulShutdown {
  /** Settles when every connection is closed. */
  readonly done: Promise<void>;
  /** Stops waiting: destroys the remaining connections now (e.g. on a second Ctrl-C). */
  force(): void;
}

/**
 * Drains the server: `/ready` turns 503, the listener stops accepting, idle keep-alive connections are
 * closed, in-flight requests finish and are answered with `Connection: close`. After `timeoutMs` the
 * connections still open are destroyed (logged at warn).
 */
export function gracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const { server, handler, logger, timeoutMs } = options;
  handler.draining = true;
  logger.info('draining', { reason: options.reason, in_flight: handler.inFlight, timeout_ms: timeoutMs });

  let timer: NodeJS.Timeout | undefined;
  const forceClose = (why: string): void => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    logger.warn('closing remaining connections', { reason: why, in_flight: handler.inFlight });
    server.closeAllConnections();
    destroyLingeringSockets();
  };

  const done = new Promise<void>((resolve) => {
    timer = setTimeout(() => forceClose('shutdown timeout'), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      timer = undefined;
      resolve();
    });
    server.closeIdleConnections();
    destroyLingeringSockets();
  });

  return { done, force: () => forceClose('second signal') };
}
