// The single-process role (`--workers 1`, the default): forwards, probes, serves the admin endpoints.
import { createAdminServer } from './admin-server.js';
import { drainProxy, trackConnections } from './drain.js';
import { listenOnHosts } from './listeners.js';
import type { ProxyConfig } from './options.js';
import { createProxyServer } from './proxy-server.js';
import { reload } from './reload.js';
import { createRuntime, listen, logListening, stopped, stopProbesAndAdmin } from './runtime.js';
import { onStopSignals } from './shutdown.js';

export async function runSingle(config: ProxyConfig): Promise<void> {
  const { logger, dispatcher, ctx } = createRuntime(config, 'all');
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  const admin = createAdminServer(ctx);
  const listeners = await listenOnHosts(proxy, config.port, config.host, logger);
  const adminAddress = await listen(admin, config.adminPort, config.adminHost, logger);
  // After the shutdown delay (shutdown.ts): drain, then stop probing and the admin server.
  onStopSignals(ctx, async (signal) => {
    listeners.closeExtra();
    await drainProxy(ctx, proxy, sockets, signal);
    await stopProbesAndAdmin(admin, dispatcher);
    await stopped(logger, signal);
  });
  process.on('SIGHUP', () => void reload(ctx));
  // Only once the signal handlers are in place: a supervisor may signal as soon as it reads this record.
  logListening(logger, config, listeners.addresses, adminAddress, 1);
}
