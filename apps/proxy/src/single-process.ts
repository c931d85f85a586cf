// The single-process role (`--workers 1`, the default): forwards, probes, serves the admin endpoints.
import { createAdminServer } from './admin-server.js';
import { drainProxy, trackConnections } from './drain.js';
import type { ProxyConfig } from './options.js';
import { createProxyServer } from './proxy-server.js';
import { reload } from './reload.js';
import {
  createRuntime,
  listen,
  logListening,
  onStopSignals,
  stopped,
  stopProbesAndAdmin,
} from './runtime.js';

export async function runSingle(config: ProxyConfig): Promise<void> {
  const { logger, dispatcher, ctx } = createRuntime(config, 'all');
  const proxy = createProxyServer(ctx);
  const sockets = trackConnections(proxy);
  const admin = createAdminServer(ctx);
  const address = await listen(proxy, config.port, config.host, logger);
  const adminAddress = await listen(admin, config.adminPort, config.adminHost, logger);
  onStopSignals(async (signal) => {
    await drainProxy(ctx, proxy, sockets, signal);
    await stopProbesAndAdmin(admin, dispatcher);
    await stopped(logger, signal);
  });
  process.on('SIGHUP', () => void reload(ctx));
  // Only once the signal handlers are in place: a supervisor may signal as soon as it reads this record.
  logListening(logger, config, address, adminAddress, 1);
}
