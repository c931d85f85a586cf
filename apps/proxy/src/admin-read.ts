// The admin server's read side: GET /metrics, /healthz, /readyz and /upstreams, and the report of one
// upstream that /upstreams, the write API's answers and the dashboard share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metricsHandler } from '@roundguard/metrics';
import type { UpstreamState, UpstreamStatus } from '@roundguard/dispatcher';
import type { UpstreamTraffic } from './dashboard/traffic-history.js';
import { sendError } from './errors.js';
import type { ProxyContext } from './proxy-context.js';

export function sendJson(res: ServerResponse, status: number, value: unknown, head = false): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

/** One upstream in `GET /upstreams`. */
export interface UpstreamReport {
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  /** `up`, `down`, `ejected`, `draining` or `maint`. */
  readonly state: UpstreamState;
  /** What the admin API set last: `ready`, `drain` or `maint`. */
  readonly adminState: 'ready' | 'drain' | 'maint';
  /** Whether its health is good (probes pass, no connect failure keeps it out); `state` says if it is in rotation. */
  readonly healthy: boolean;
  readonly inFlight: number;
  /** Requests sent to it (each retry on the upstream it went to). */
  readonly requests: number;
  /** Failed exchanges: connect errors, resets, timeouts, 5xx answers. */
  readonly failures: number;
  /** When its state last changed (ISO time). */
  readonly since: string | null;
  /** When it was last probed (ISO time). */
  readonly lastProbe: string | null;
  /** The last probe's result: `ok`, `bad_status`, `error`, `timeout`, or null before the first one. */
  readonly lastProbeResult: UpstreamStatus['lastProbeResult'];
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  /** End of its ejection by outlier detection (ISO time), or null. */
  readonly ejectedUntil: string | null;
  /** For a discovered upstream only: the `dns+` / `dnssrv+` URL that found it. */
  readonly discoveredFrom?: string;
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** The report of one upstream from the dispatcher's status of it (and, in a cluster, the workers' counts). */
export function upstreamReport(
  s: UpstreamStatus,
  since: number | null,
  counts: { inFlight: number; requests: number; failures: number; consecutiveFailures: number } = s,
  state: UpstreamState = s.state,
  ejectedUntil: number | null = s.ejectedUntil,
): UpstreamReport {
  return {
    name: s.name,
    url: s.url,
    weight: s.weight,
    state,
    adminState: s.adminState,
    healthy: s.healthy,
    inFlight: counts.inFlight,
    requests: counts.requests,
    failures: counts.failures,
    since: iso(since),
    lastProbe: iso(s.lastProbeAt),
    lastProbeResult: s.lastProbeResult,
    lastError: s.lastError,
    consecutiveFailures: counts.consecutiveFailures,
    ejectedUntil: iso(ejectedUntil),
    ...(s.discoveredFrom === null ? {} : { discoveredFrom: s.discoveredFrom }),
  };
}

/** `/upstreams` of a process that forwards itself: its dispatcher's view. */
export function ownUpstreams(ctx: ProxyContext): UpstreamReport[] {
  const handles = ctx.dispatcher.upstreams();
  return ctx.dispatcher.status().map((s, i) => upstreamReport(s, handles[i]?.data?.since ?? null));
}

/** How many upstreams can take a request now (in state `up` with a weight above 0). */
export function pickableCount(reports: readonly Pick<UpstreamReport, 'state' | 'weight'>[]): number {
  let n = 0;
  for (const r of reports) if (r.state === 'up' && r.weight > 0) n++;
  return n;
}

/**
 * Where the admin server gets what lives in other processes (cluster mode): the merged exposition, the
 * upstreams and the traffic as the workers see them, and the wait for the workers to apply a change.
 * Without them it uses this process' own registry, dispatcher and traffic history.
 */
export interface AdminSources {
  metricsText?: () => Promise<{ contentType: string; body: string }>;
  upstreams?: () => Promise<UpstreamReport[]>;
  /** Upstreams that can take a request now (for `/readyz`). */
  pickable?: () => number;
  /** Per-upstream traffic for the dashboard. */
  traffic?: () => Promise<Map<string, UpstreamTraffic>>;
  /** Resolves once every process that forwards applied the upstream set as it is now. */
  applied?: () => Promise<void>;
}

/** The upstreams as `GET /upstreams` reports them. */
export function readUpstreams(ctx: ProxyContext, sources: AdminSources): Promise<UpstreamReport[]> {
  return sources.upstreams === undefined ? Promise.resolve(ownUpstreams(ctx)) : sources.upstreams();
}

/** The paths of the read side, each answering GET and HEAD. */
export const READ_PATHS: ReadonlySet<string> = new Set(['/metrics', '/healthz', '/readyz', '/upstreams']);

/** Answers a GET or HEAD of one of {@link READ_PATHS}. */
export function createReadHandler(
  ctx: ProxyContext,
  sources: AdminSources,
): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const ownMetrics = metricsHandler(ctx.metrics.registry);
  const metrics = (req: IncomingMessage, res: ServerResponse, head: boolean): void => {
    if (sources.metricsText === undefined) return ownMetrics(req, res);
    sources.metricsText().then(
      ({ contentType, body }) => {
        res.writeHead(200, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(head ? undefined : body);
      },
      (err: unknown) => {
        ctx.logger.error('metrics collection failed', { err });
        if (!res.headersSent) sendError(res, 'METRICS_COLLECTION_FAILED');
      },
    );
  };
  return (req, res, path) => {
    const head = req.method === 'HEAD';
    switch (path) {
      case '/metrics':
        return metrics(req, res, head);
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' }, head);
      case '/readyz': {
        const healthy = sources.pickable?.() ?? pickableCount(ctx.dispatcher.status());
        // From the first SIGTERM on (shutdown delay, then drain): not ready, whatever the upstreams.
        const stopping = ctx.shuttingDown || ctx.draining;
        const ready = healthy > 0 && !stopping;
        const status = ready
          ? 'ready'
          : ctx.draining
            ? 'draining'
            : stopping
              ? 'shutting down'
              : 'no healthy upstream';
        return sendJson(res, ready ? 200 : 503, { status, healthyUpstreams: healthy }, head);
      }
      default:
        readUpstreams(ctx, sources).then(
          (upstreams) => sendJson(res, 200, { upstreams }, head),
          (err: unknown) => {
            ctx.logger.error('upstream status failed', { err });
            if (!res.headersSent) sendError(res, 'STATUS_UNAVAILABLE');
          },
        );
    }
  };
}
