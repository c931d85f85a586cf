// The cluster primary role (`--workers N`, N > 1): runs the health checks and DNS discovery (a dispatcher
// that forwards nothing) and the admin server, forks N workers that forward, and keeps them in step over
// IPC (ipc-messages.ts). A worker that dies is replaced; on SIGTERM / SIGINT every worker drains, then the
// primary stops.
import cluster from 'node:cluster';
import { once } from 'node:events';
import { createAdminServer, type AdminSources } from './admin-server.js';
import type { ProxyConfig } from './options.js';
import { reload } from './reload.js';
import { ClusterUpstreams } from './cluster-upstreams.js';
import type { ToPrimary, ToWorker } from './ipc-messages.js';
import { createRuntime, listen, logListening, stopped, stopProbesAndAdmin } from './runtime.js';
import { onStopSignals } from './shutdown.js';
import { WorkerQueries } from './worker-queries.js';
import { workerExecArgv } from './young-generation.js';

export async function runPrimary(config: ProxyConfig): Promise<void> {
  const { logger, dispatcher, ctx } = createRuntime(config, 'probes', { role: 'primary' });
  const queries = new WorkerQueries();
  const upstreams = new ClusterUpstreams(ctx);
  const sources: AdminSources = {
    metricsText: () => queries.metricsText(ctx),
    upstreams: () => upstreams.report(queries),
    pickable: () => upstreams.pickable(),
    traffic: () => queries.traffic(),
    applied: () => upstreams.applied(),
  };
  const admin = createAdminServer(ctx, sources);
  let stopping = false;
  let listening: { port: number; address: string } | undefined;

  // The workers forward: they get the young generation that keeps big bodies' read buffers from
  // piling up (young-generation.ts), unless the user sized it.
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: ToPrimary) => {
      if (queries.accept(message) || upstreams.accept(worker, message)) return;
      if (message.t === 'targets?') worker.send(upstreams.targetsMessage() satisfies ToWorker);
      else if (message.t === 'listening') {
        listening ??= { port: message.port, address: message.address };
        if (!onlineSent) onWorkerListening();
      }
    });
    worker.on('exit', (code, signal) => {
      upstreams.workerExited(worker);
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
    // Every worker listens on every --host, on the port the first one got.
    const port = listening.port;
    const addresses = [listening, ...config.host.slice(1).map((address) => ({ address, port }))];
    logListening(logger, config, addresses, adminAddress, config.workers);
  };
  for (let i = 0; i < config.workers; i++) fork();

  // After the shutdown delay (shutdown.ts; the workers serve on during it): every worker drains now.
  onStopSignals(ctx, async (signal) => {
    stopping = true;
    ctx.draining = true;
    logger.info('draining', { signal, workers: config.workers, drain_timeout_ms: config.drainTimeout });
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    await Promise.all(
      workers.map((w) => {
        const exited = once(w, 'exit');
        if (w.isConnected()) w.send({ t: 'drain' } satisfies ToWorker, undefined, undefined, () => undefined);
        else w.process.kill('SIGTERM');
        return exited;
      }),
    );
    await stopProbesAndAdmin(admin, dispatcher);
    await stopped(logger, signal);
  });
  // The new set reaches the workers as the primary's dispatcher takes it in (ClusterUpstreams).
  process.on('SIGHUP', () => void reload(ctx));
}
