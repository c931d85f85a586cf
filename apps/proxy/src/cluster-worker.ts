// The cluster worker role (`--workers N`, N > 1): forwards on the port shared by every worker through its
// own dispatcher (outlier detection and retries per worker); the upstream set and its health come from
// the primary over IPC (worker-ipc.ts).
import { drainProxy, trackConnections } from './drain.js';
import type { ProxyConfig } from './options.js';
import { createProxyServer } from './proxy-server.js';
import { closeDispatcher, createRuntime, listen, onStopSignals, stopped } from './runtime.js';
import type { ToPrimary } from './ipc-messages.js';
import { attachWorker } from './worker-ipc.js';

export async function runWorker(config: ProxyConfig): Promise<void> {
  const { logger, dispatcher, ctx } = createRuntime(config, 'forward', { role: 'worker' });
  const firstSet = attachWorker(ctx);
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  // Requests are taken once the primary said where they go.
  await firstSet;
  const address = await listen(proxy, config.port, config.host, logger);
  process.send?.({ t: 'listening', port: address.port, address: address.address } satisfies ToPrimary);
  onStopSignals(async (signal) => {
    await drainProxy(ctx, proxy, sockets, signal);
    await closeDispatcher(dispatcher);
    await stopped(logger, signal);
  });
  // Reloads are the primary's job (it pushes the new set); a SIGHUP sent to the whole group is ignored here.
  process.on('SIGHUP', () => undefined);
}
