// What every role of the proxy process builds and shares: the logger on fd 1, the metrics, the
// dispatcher (one per process) and the request path's context; and how a role listens, reports that it
// listens, stops its shared parts and exits.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { BatchedFdStream, createLogger, type Logger } from '@roundguard/logger';
import { createMetrics, type ProxyMetrics } from '@roundguard/metrics';
import { TrafficHistory } from './dashboard/traffic-history.js';
import type { ProxyConfig } from './options.js';
import { ProxyContext } from './proxy-context.js';
import { createDispatcher, type DispatcherRole, type ProxyDispatcher } from './upstreams.js';

export interface Runtime {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly dispatcher: ProxyDispatcher;
  readonly ctx: ProxyContext;
}

/**
 * Builds the runtime of one role; `logFields` go on every log record (e.g. `role`). A cluster worker's
 * dispatcher starts with no upstream: the primary sends the set.
 */
export function createRuntime(
  config: ProxyConfig,
  role: DispatcherRole,
  logFields: Record<string, unknown> = {},
): Runtime {
  // Access records are written to fd 1 with one write(2) per loop turn, not one per record. With several
  // processes on one stdout, each write stays within PIPE_BUF and ends at a line end, so lines never mix.
  const destination = new BatchedFdStream(1, config.workers > 1 ? { maxWriteBytes: 4096 } : {});
  destination.on('error', () => undefined); // stdout went away (EPIPE): nowhere to report it; keep serving
  process.on('exit', () => destination.flushSync());
  const logger: Logger = createLogger({
    format: config.logFormat,
    level: config.logLevel,
    name: 'roundguard',
    fields: logFields,
    destination,
  });
  const metrics = createMetrics();
  const history = new TrafficHistory();
  const dispatcher = createDispatcher(
    config,
    metrics,
    logger,
    role,
    history,
    role === 'forward' ? [] : config.upstreams,
  );
  const ctx = new ProxyContext(dispatcher, metrics, logger, config, history);
  process.on('uncaughtException', (err) => logger.error('uncaught exception', { err }));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  return { logger, metrics, dispatcher, ctx };
}

/** Writes out the buffered log lines, then exits. */
export async function exit(logger: Logger, code: number): Promise<never> {
  await logger.flush();
  process.exit(code);
}

/** Listens, or logs `cannot listen` (e.g. the port is taken) and exits 1. */
export async function listen(
  server: NetServer,
  port: number,
  host: string,
  logger: Logger,
): Promise<AddressInfo> {
  try {
    server.listen(port, host);
    await once(server, 'listening');
    return server.address() as AddressInfo;
  } catch (err) {
    logger.error('cannot listen', { err });
    return exit(logger, 1);
  }
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `host:port`, with brackets for IPv6. */
export function hostPort(address: { readonly address: string; readonly port: number }): string {
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}

/**
 * The `listening` record; a supervisor may signal the process as soon as it reads it. `host` and `port`
 * are the first address; with several `--host`, `addresses` lists them all (`127.0.0.1:8080`, `[::1]:8080`).
 */
export function logListening(
  logger: Logger,
  config: ProxyConfig,
  addresses: readonly { readonly address: string; readonly port: number }[],
  admin: AddressInfo,
  workers: number,
): void {
  const [first] = addresses;
  logger.info('listening', {
    host: first?.address,
    port: first?.port,
    ...(addresses.length > 1 ? { addresses: addresses.map(hostPort) } : {}),
    admin_host: admin.address,
    admin_port: admin.port,
    upstreams: config.upstreams.map((u) => u.url),
    workers,
    pid: process.pid,
  });
}

/**
 * Closes the dispatcher once the drain is over: probes and lookups stop, what is still in flight may
 * finish for `graceMs`, then its connections are closed by force.
 */
export async function closeDispatcher(dispatcher: ProxyDispatcher, graceMs = 1000): Promise<void> {
  const timer = setTimeout(() => void dispatcher.destroy(null).catch(() => undefined), graceMs);
  timer.unref();
  await dispatcher.close().catch(() => undefined);
  clearTimeout(timer);
}

/** Stops what the probing role owns: the admin server and the dispatcher (its probes, its pools). */
export async function stopProbesAndAdmin(admin: Server, dispatcher: ProxyDispatcher): Promise<void> {
  const closing = closeServer(admin);
  admin.closeAllConnections();
  await Promise.all([closing, closeDispatcher(dispatcher)]);
}

/** The role's last record, `stopped`, then exit 0. */
export async function stopped(logger: Logger, signal: string): Promise<never> {
  logger.info('stopped', { signal, pid: process.pid });
  return exit(logger, 0);
}
