#!/usr/bin/env node
// Entry point: resolve the options (exit 2 on a bad one), wire the libraries together, listen, and
// handle SIGTERM/SIGINT (graceful drain) and SIGHUP (reload of the config file's upstreams).
// With `--workers N` (N > 1) the primary process runs the liveness checks and the admin server and
// forks N workers that forward requests (see cluster.ts).
import cluster from 'node:cluster';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Balancer, type HealthChecker } from '@roundguard/balancer';
import { BatchedFdStream, createLogger, type Logger } from '@roundguard/logger';
import { createMetrics } from '@roundguard/metrics';
import { createAdminServer, type AdminSources } from './admin-server.js';
import {
  attachWorker,
  broadcastHealth,
  targetsMessage,
  WorkerQueries,
  type ToPrimary,
  type ToWorker,
} from './cluster.js';
import { startHealthChecks } from './health.js';
import { HelpRequested, OptionsError, reloadUpstreams, resolveConfig, type ProxyConfig } from './options.js';
import { ProxyContext } from './proxy-context.js';
import { createProxyServer } from './proxy-server.js';
import { UpstreamPools, type Upstream } from './upstreams.js';

function loadConfig(): ProxyConfig {
  try {
    return resolveConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    if (err instanceof OptionsError) {
      process.stderr.write(`roundguard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Listens, or logs `cannot listen` (e.g. the port is taken) and exits 1. */
async function listen(server: Server, port: number, host: string, logger: Logger): Promise<AddressInfo> {
  try {
    server.listen(port, host);
    await once(server, 'listening');
    return server.address() as AddressInfo;
  } catch (err) {
    logger.error('cannot listen', { err });
    return exit(logger, 1);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What every role builds: logger, metrics, one undici pool per upstream, the balancer. */
function createRuntime(config: ProxyConfig, logFields: Record<string, unknown> = {}) {
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
  const pools = new UpstreamPools(config, metrics);
  const balancer = new Balancer<Upstream>(pools.build(config.upstreams).upstreams);
  const ctx = new ProxyContext(balancer, metrics, logger, config);
  process.on('uncaughtException', (err) => logger.error('uncaught exception', { err }));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  return { logger, metrics, pools, balancer, ctx };
}

async function exit(logger: Logger, code: number): Promise<never> {
  await logger.flush();
  process.exit(code);
}

/** SIGHUP: re-reads the config file's upstreams and swaps them in; returns false when it cannot. */
function reload(ctx: ProxyContext, pools: UpstreamPools): boolean {
  const { config, logger, balancer } = ctx;
  if (config.configFile === undefined || config.upstreamsSource !== 'file') {
    logger.warn('SIGHUP ignored: upstreams do not come from a config file', {
      source: config.upstreamsSource,
    });
    return false;
  }
  try {
    const configs = reloadUpstreams(config.configFile);
    const { upstreams, removed } = pools.build(configs);
    const before = new Set(balancer.targets().map((u) => u.key));
    balancer.setTargets(upstreams);
    for (const u of upstreams) if (!before.has(u.key)) u.conn.metrics.setUp(balancer.isHealthy(u.key));
    void pools.retire(removed);
    logger.info('config reloaded', {
      upstreams: upstreams.map((u) => u.url),
      removed: removed.map((c) => c.url),
    });
    return true;
  } catch (err) {
    logger.error('config reload failed; keeping the current upstreams', {
      err: err instanceof OptionsError ? err.message : err,
    });
    return false;
  }
}

/** The client connections of a server, kept so that a drain can close those that carry no request. */
function trackConnections(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * Closes every connection that has no response in progress: idle keep-alive ones, and also those that
 * connected and sent nothing (or only part of a request head), which Node's closeIdleConnections() leaves
 * open (it counts them as busy) and which would otherwise hold the drain until its timeout.
 */
function closeUnusedConnections(proxy: Server, sockets: ReadonlySet<Socket>): void {
  proxy.closeIdleConnections();
  for (const socket of sockets) {
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage == null) socket.destroy();
  }
}

/**
 * Graceful stop of a forwarding process: stop accepting, answer in-flight requests with
 * `Connection: close`, close idle (and silent) connections, wait up to the drain timeout, close what
 * remains.
 */
async function drainProxy(
  ctx: ProxyContext,
  proxy: Server,
  sockets: ReadonlySet<Socket>,
  signal: string,
): Promise<void> {
  const { config, logger } = ctx;
  ctx.draining = true;
  logger.info('draining', { signal, in_flight: ctx.inFlight, drain_timeout_ms: config.drainTimeout });
  const closed = closeServer(proxy);
  closeUnusedConnections(proxy, sockets);
  const idle = new Promise<void>((resolve) => {
    if (ctx.inFlight === 0) resolve();
    else ctx.onIdle = resolve;
  });
  let timedOut = false;
  const deadline = new Promise<void>((resolve) =>
    setTimeout(() => ((timedOut = true), resolve()), config.drainTimeout).unref(),
  );
  await Promise.race([Promise.all([idle, closed]), deadline]);
  if (timedOut) logger.warn('drain timeout: closing remaining connections', { in_flight: ctx.inFlight });
  proxy.closeAllConnections();
}

function onStopSignals(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void stop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** One process: forwards, probes, serves the admin endpoints. */
async function runSingle(config: ProxyConfig): Promise<void> {
  const { logger, pools, ctx } = createRuntime(config);
  const checker = startHealthChecks(ctx);
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  const admin = createAdminServer(ctx);
  const address = await listen(proxy, config.port, config.host, logger);
  const adminAddress = await listen(admin, config.adminPort, config.adminHost, logger);
  onStopSignals(async (signal) => {
    await drainProxy(ctx, proxy, sockets, signal);
    await shutdownCommon(checker, admin, pools);
    logger.info('stopped', { signal });
    await exit(logger, 0);
  });
  process.on('SIGHUP', () => void reload(ctx, pools));
  // Only once the signal handlers are in place: a supervisor may signal as soon as it reads this record.
  logListening(logger, config, address, adminAddress, 1);
}

function logListening(
  logger: Logger,
  config: ProxyConfig,
  address: AddressInfo,
  admin: AddressInfo,
  workers: number,
): void {
  logger.info('listening', {
    host: address.address,
    port: address.port,
    admin_host: admin.address,
    admin_port: admin.port,
    upstreams: config.upstreams.map((u) => u.url),
    workers,
    pid: process.pid,
  });
}

async function shutdownCommon(
  checker: HealthChecker<Upstream>,
  admin: Server,
  pools: UpstreamPools,
): Promise<void> {
  const closing = closeServer(admin);
  admin.closeAllConnections();
  await Promise.all([checker.stop(), closing, pools.closeAll(1000)]);
}

/** Cluster primary: probes, admin server, state pushed to the workers; forwards nothing itself. */
async function runPrimary(config: ProxyConfig): Promise<void> {
  const { logger, pools, ctx } = createRuntime(config, { role: 'primary' });
  const queries = new WorkerQueries();
  const checker = startHealthChecks(ctx);
  broadcastHealth(ctx);
  const sources: AdminSources = {
    metricsText: () => queries.metricsText(ctx),
    inFlight: () => queries.inFlight(),
  };
  const admin = createAdminServer(ctx, sources);
  let stopping = false;
  let listening: { port: number; address: string } | undefined;

  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: ToPrimary) => {
      if (queries.accept(message)) return;
      if (message.t === 'markDown') ctx.balancer.markDown(message.key, message.reason);
      else if (message.t === 'listening') {
        listening ??= { port: message.port, address: message.address };
        if (!onlineSent) onWorkerListening();
      }
    });
    worker.on('online', () => worker.send(targetsMessage(ctx) satisfies ToWorker));
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error('worker exited; starting a new one', { worker_pid: worker.process.pid, code, signal });
      fork();
    });
  };

  let onlineSent = false;
  let workersListening = 0;
  const adminAddress = await listen(admin, config.adminPort, config.adminHost, logger);
  const onWorkerListening = () => {
    workersListening++;
    if (workersListening < config.workers || listening === undefined) return;
    onlineSent = true;
    logListening(
      logger,
      config,
      { port: listening.port, address: listening.address, family: '' },
      adminAddress,
      config.workers,
    );
  };
  for (let i = 0; i < config.workers; i++) fork();

  onStopSignals(async (signal) => {
    stopping = true;
    ctx.draining = true;
    logger.info('draining', { signal, workers: config.workers, drain_timeout_ms: config.drainTimeout });
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    await Promise.all(
      workers.map((w) => {
        const exited = once(w, 'exit');
        w.process.kill('SIGTERM');
        return exited;
      }),
    );
    await shutdownCommon(checker, admin, pools);
    logger.info('stopped', { signal });
    await exit(logger, 0);
  });
  process.on('SIGHUP', () => {
    if (!reload(ctx, pools)) return;
    for (const w of Object.values(cluster.workers ?? {}))
      if (w?.isConnected()) w.send(targetsMessage(ctx) satisfies ToWorker);
  });
}

/** Cluster worker: forwards on the shared port; health comes from the primary. */
async function runWorker(config: ProxyConfig): Promise<void> {
  const { logger, pools, ctx } = createRuntime(config, { role: 'worker' });
  attachWorker(ctx, pools);
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  const address = await listen(proxy, config.port, config.host, logger);
  process.send?.({ t: 'listening', port: address.port, address: address.address } satisfies ToPrimary);
  onStopSignals(async (signal) => {
    await drainProxy(ctx, proxy, sockets, signal);
    await pools.closeAll(1000);
    logger.debug('worker stopped', { signal });
    await exit(logger, 0);
  });
  // Reloads are the primary's job (it pushes the new set); a SIGHUP sent to the whole group is ignored here.
  process.on('SIGHUP', () => undefined);
}

const config = loadConfig();
if (config.workers > 1 && cluster.isPrimary) void runPrimary(config);
else if (cluster.isWorker) void runWorker(config);
else void runSingle(config);
