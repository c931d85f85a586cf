// Liveness: probes every upstream with GET <health-path> through @roundguard/balancer's HealthChecker
// (one failure removes, the first 200 restores), and turns every change of health, whoever caused it
// (a probe, or a connect failure while forwarding), into a log line and metrics.
import { HealthChecker, httpProbe } from '@roundguard/balancer';
import type { ProxyContext } from './proxy-context.js';
import type { Upstream } from './upstreams.js';

export function startHealthChecks(ctx: ProxyContext): HealthChecker<Upstream> {
  const { balancer, config, logger } = ctx;
  balancer.onChange((key, healthy, reason, upstream) => {
    upstream.conn.metrics.setUp(healthy);
    upstream.conn.metrics.transition(healthy ? 'up' : 'down');
    if (healthy) logger.info('upstream up', { upstream: key });
    else logger.warn('upstream down', { upstream: key, reason });
  });
  for (const u of balancer.targets()) u.conn.metrics.setUp(balancer.isHealthy(u.key));

  const checker = new HealthChecker<Upstream>({
    balancer,
    probe: httpProbe<Upstream>({ path: config.healthPath }),
    intervalMs: config.healthInterval,
    timeoutMs: config.healthTimeout,
    fall: 1,
    rise: 1,
  });
  checker.on('probe', ({ target, result, durationMs }) => {
    target.conn.metrics.healthCheck(result, durationMs / 1000);
  });
  checker.start();
  return checker;
}
