// SIGHUP: re-reads the config file's upstreams and swaps them in on the dispatcher without dropping
// requests in flight: upstreams that stay keep their pool, health and counters, new ones join after
// their first good probe, removed ones finish their requests before their pools close. Changes made
// through the admin API (added, removed, drained, reweighted upstreams) are undone. A bad file is
// logged and the current set is kept.
import { OptionsError, reloadUpstreams, type UpstreamConfig } from './options.js';
import type { ProxyContext } from './proxy-context.js';
import { applyUpstreamSet } from './upstreams.js';

/** Reloads the upstreams; returns the new set, or undefined when it could not (not from a file, or a bad file). */
export function reload(ctx: ProxyContext): UpstreamConfig[] | undefined {
  const { config, logger, dispatcher } = ctx;
  if (config.configFile === undefined || config.upstreamsSource !== 'file') {
    logger.warn('SIGHUP ignored: upstreams do not come from a config file', {
      source: config.upstreamsSource,
    });
    return undefined;
  }
  try {
    const configs = reloadUpstreams(config.configFile);
    const after = new Set(configs.map((c) => c.url));
    const removed = ctx.upstreams.filter((u) => !after.has(u.url)).map((u) => u.url);
    applyUpstreamSet(ctx, configs);
    // Changes made through the admin API last until a reload: every upstream is back to `ready`.
    for (const s of dispatcher.status()) if (s.adminState !== 'ready') dispatcher.setState(s.name, 'ready');
    logger.info('config reloaded', { upstreams: configs.map((c) => c.url), removed });
    return configs;
  } catch (err) {
    logger.error('config reload failed; keeping the current upstreams', {
      err: err instanceof OptionsError ? err.message : err,
    });
    return undefined;
  }
}
