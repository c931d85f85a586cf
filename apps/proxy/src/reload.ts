// SIGHUP: re-reads the config file's upstreams and swaps them in without dropping requests in flight:
// upstreams that stay keep their pool and health, new ones start in rotation, removed ones finish their
// requests before their pools close. A bad file is logged and the current set is kept.
import { OptionsError, reloadUpstreams } from './options.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamPools } from './upstreams.js';

/** Reloads the upstreams; returns false when it could not (not from a file, or a bad file). */
export function reload(ctx: ProxyContext, pools: UpstreamPools): boolean {
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
