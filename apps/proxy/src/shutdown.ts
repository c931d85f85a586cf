// The stop sequence of every role on SIGTERM / SIGINT, in two phases:
//
// 1. Shutdown delay (`--shutdown-delay MS`, default 0): `/readyz` answers 503 at once, and traffic is
//    served as before for MS: new connections are accepted, keep-alive connections are served normally.
//    This is the time a load balancer (a Kubernetes Service's endpoints, a cloud target group) takes to
//    see the instance is not ready and to stop sending it new connections.
// 2. The role's own stop: the drain (drain.ts, bounded by `--drain-timeout`), then the rest.
//
// A second SIGTERM / SIGINT during the delay ends it at once (the drain starts); later signals are
// ignored. A cluster worker has its delay cut short by the primary's `drain` message, sent once the
// primary's own delay is over: a signal sent to the whole process group (Ctrl-C) and one sent to the
// primary alone (Kubernetes, `docker stop`) both end in one delay, not two.
import type { Logger } from '@roundguard/logger';
import type { ProxyContext } from './proxy-context.js';

export interface StopControl {
  /** Ends the delay at once (or starts the sequence without one): the drain starts now. */
  drainNow(reason: string): void;
}

/**
 * Runs `stop` after the shutdown delay that the first SIGTERM or SIGINT starts.
 * @param ctx its `shuttingDown` is set on the first signal: `/readyz` answers 503 from then on
 */
export function onStopSignals(
  ctx: Pick<ProxyContext, 'shuttingDown' | 'config'> & { readonly logger: Logger },
  stop: (signal: string) => Promise<void>,
): StopControl {
  const delayMs = ctx.config.shutdownDelay;
  let phase: 'serving' | 'delay' | 'stopping' = 'serving';
  let firstSignal = '';
  let endDelay: () => void = () => undefined;

  const startStop = (signal: string): void => {
    phase = 'stopping';
    void stop(signal);
  };
  const begin = (signal: string): void => {
    ctx.shuttingDown = true;
    firstSignal = signal;
    if (delayMs === 0) return startStop(signal);
    phase = 'delay';
    ctx.logger.info('shutting down', { signal, shutdown_delay_ms: delayMs });
    const timer = setTimeout(() => endDelay(), delayMs);
    endDelay = () => {
      clearTimeout(timer);
      startStop(signal);
    };
  };
  const drainNow = (reason: string): void => {
    if (phase === 'serving') {
      ctx.shuttingDown = true;
      firstSignal = reason;
      return startStop(reason);
    }
    if (phase !== 'delay') return;
    ctx.logger.info('shutdown delay cut short', { signal: firstSignal, by: reason });
    endDelay();
  };
  const handler = (signal: string): void => {
    if (phase === 'serving') begin(signal);
    else drainNow(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return { drainNow };
}
