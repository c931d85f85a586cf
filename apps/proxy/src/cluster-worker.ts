// The cluster worker role (`--workers N`, N > 1): forwards on the port shared by every worker through its
// own dispatcher (outlier detection and retries per worker); the upstream set and its health come from
// the primary over IPC (worker-ipc.ts).
import { drainProxy, trackConnections } from './drain.js';
import { listenOnHosts } from './listeners.js';
import type { ProxyConfig } from './options.js';
import { createProxyServer } from './proxy-server.js';
import type { ToPrimary, ToWorker } from './ipc-messages.js';
import { closeDispatcher, createRuntime, stopped } from './runtime.js';
import { onStopSignals } from './shutdown.js';
import { attachWorker } from './worker-ipc.js';

export async function runWorker(config: ProxyConfig): Promise<void> {
  const { logger, dispatcher, ctx } = createRuntime(config, 'forward', { role: 'worker' });
  const firstSet = attachWorker(ctx);
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  // Requests are taken once the primary said where they go.
  await firstSet;
  const listeners = await listenOnHosts(proxy, config.port, config.host, logger);
  const control = onStopSignals(ctx, async (signal) => {
    listeners.closeExtra();
    await drainProxy(ctx, proxy, sockets, signal);
    await closeDispatcher(dispatcher);
    await stopped(logger, signal);
  });
  // The primary's shutdown delay is over (or it got a second signal): drain now, delay or not.
  process.on('message', (message: ToWorker) => {
    if (message.t === 'drain') control.drainNow('primary');
  });
  // Reloads are the primary's job (it pushes the new set); a SIGHUP sent to the whole group is ignored here.
  process.on('SIGHUP', () => undefined);
  // Only once the signal handlers are in place: the primary logs `listening` when every worker said so,
  // and a supervisor may signal the whole group as soon as it reads that record.
  const [address] = listeners.addresses;
  process.send?.({ t: 'listening', port: address!.port, address: address!.address } satisfies ToPrimary);
}
