// Worker side of the cluster IPC (see ipc-messages.ts): applies the primary's set to the worker's
// dispatcher and acknowledges it, reports connect failures and ejections, and answers the primary's
// metrics, upstream and traffic queries.
import type { UpstreamStatus } from '@roundguard/dispatcher';
import type { ToPrimary, ToWorker, WorkerUpstream } from './ipc-messages.js';
import type { ProxyContext } from './proxy-context.js';
import type { ProxyUpstream } from './upstreams.js';

/**
 * Worker side: applies the primary's set to the local dispatcher, reports connect failures and
 * ejections, and answers metrics / upstream queries. Resolves once the first set has arrived.
 */
export function attachWorker(ctx: ProxyContext): Promise<void> {
  const lb = ctx.dispatcher;
  /** Counts of upstreams that left this worker's set (they come back as new ones). */
  const retired = new Map<string, { url: string; requests: number; failures: number }>();
  let known = new Set<string>();
  lb.on('down', (e) => {
    if (e.cause === 'connect_failure')
      process.send?.({ t: 'connectFailed', name: e.upstream.name, reason: e.reason } satisfies ToPrimary);
  });
  lb.on('ejected', (e) =>
    process.send?.({ t: 'ejection', name: e.upstream.name, until: e.ejectedUntil } satisfies ToPrimary),
  );
  lb.on('restored', (e) =>
    process.send?.({ t: 'ejection', name: e.upstream.name, until: null } satisfies ToPrimary),
  );
  // An upstream leaves this worker's set when the primary takes it out, and comes back as a new one: its
  // counts as of then are kept (requests in flight at that time finish on it).
  let snapshot = new Map<ProxyUpstream, UpstreamStatus>();
  lb.on('upstreamRemoved', (u) => {
    const s = snapshot.get(u);
    if (s === undefined) return;
    const r = retired.get(u.name) ?? { url: u.url, requests: 0, failures: 0 };
    r.requests += s.requests;
    r.failures += s.failures;
    retired.set(u.name, r);
  });
  return new Promise<void>((resolve) => {
    process.send?.({ t: 'targets?' } satisfies ToPrimary);
    process.on('message', (message: ToWorker) => {
      switch (message.t) {
        case 'targets': {
          const statuses = lb.status();
          const handles = lb.upstreams();
          snapshot = new Map(handles.map((u, i) => [u, statuses[i] as UpstreamStatus]));
          lb.setUpstreams(message.upstreams);
          const nextKnown = new Set(message.known);
          for (const url of known) if (!nextKnown.has(url)) ctx.metrics.removeUpstream(url);
          known = nextKnown;
          ctx.history.retain(message.knownNames);
          for (const name of retired.keys()) if (!message.knownNames.includes(name)) retired.delete(name);
          process.send?.({ t: 'applied', version: message.version } satisfies ToPrimary);
          resolve();
          break;
        }
        case 'metrics?':
          void ctx.metrics.registry
            .getMetricsAsJSON()
            .then((metrics) => process.send?.({ t: 'metrics', id: message.id, metrics } satisfies ToPrimary));
          break;
        case 'traffic?':
          process.send?.({
            t: 'traffic',
            id: message.id,
            traffic: [...ctx.history.counts()],
          } satisfies ToPrimary);
          break;
        case 'upstreams?': {
          const upstreams: WorkerUpstream[] = lb.status().map((s) => {
            const r = retired.get(s.name);
            return {
              name: s.name,
              url: s.url,
              inFlight: s.inFlight,
              requests: s.requests + (r?.requests ?? 0),
              failures: s.failures + (r?.failures ?? 0),
              consecutiveFailures: s.consecutiveFailures,
            };
          });
          for (const [name, r] of retired) {
            if (!upstreams.some((u) => u.name === name))
              upstreams.push({
                name,
                url: r.url,
                inFlight: 0,
                requests: r.requests,
                failures: r.failures,
                consecutiveFailures: 0,
              });
          }
          process.send?.({ t: 'upstreams', id: message.id, upstreams } satisfies ToPrimary);
          break;
        }
      }
    });
  });
}
