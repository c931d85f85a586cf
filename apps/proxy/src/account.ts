// The one place where a request is accounted, whichever way it ends (relayed, failed upstream, refused
// by the proxy, cut by the client, a parser error): the in-flight counters, the metrics and the
// access-log record. Requests that got no upstream are counted and logged under `none` (NO_UPSTREAM).
import { performance } from 'node:perf_hooks';
import type { Outcome, UpstreamMetrics } from '@roundguard/metrics';
import { logRequest } from './access-log.js';
import type { ProxyContext } from './proxy-context.js';
import type { UpstreamData } from './upstreams.js';

/** Who sent a request and what it asked for, as far as it is known (a {@link RequestHead} once read). */
export interface RequestIdentity {
  readonly requestId: string;
  readonly clientIp: string;
  /** undefined when the HTTP parser gave up before it had a request (then counted as method `OTHER`). */
  readonly method: string | undefined;
  readonly host: string | undefined;
  /** The request target; the log keeps its path only. */
  readonly url: string | undefined;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
}

/** What the metrics and the access-log record of one request are made of, once it ended. */
export interface EndedRequest {
  readonly head: RequestIdentity;
  /** The status sent to the client (499 when the client went away first). */
  readonly status: number;
  readonly outcome: Outcome;
  /** The error code or reason ('' when none). */
  readonly errorCode: string;
  /** Request body bytes read from the client. */
  readonly bytesIn: number;
  /** Response body bytes written to the client: the upstream's, or the proxy's own error body. */
  readonly bytesOut: number;
  /** Time from arrival to the upstream's response head in ms; null when no upstream answered. */
  readonly ttfbMs: number | null;
}

function metricsOf(ctx: ProxyContext, upstream: UpstreamData | null): UpstreamMetrics {
  return upstream === null ? ctx.noUpstream : upstream.metrics;
}

/** A request is being handled: counted in flight in the process (the drain waits for it). */
export function requestArrived(ctx: ProxyContext): void {
  ctx.inFlight++;
}

/**
 * A request is being handled: counted in flight (in the process, for the drain, and for `upstream`, or
 * `none` when it has none) until its {@link account}. An Exchange counts itself in stages instead: the
 * process at once, its upstream once the dispatcher chose it, the upstream's gauge once it is sent.
 */
export function requestStarted(ctx: ProxyContext, upstream: UpstreamData | null): void {
  requestArrived(ctx);
  if (upstream !== null) upstream.inFlight++;
  metricsOf(ctx, upstream).requestStarted();
}

/**
 * A request ended: out of the in-flight counts, into the metrics (its count and duration, the upstream's
 * time to first byte and failure reason) and the access log, with the same `upstream` word in both.
 * Call once per {@link requestStarted}, with the same `upstream`.
 */
export function account(ctx: ProxyContext, upstream: UpstreamData | null, ended: EndedRequest): void {
  const durationMs = performance.now() - ended.head.startedAt;
  const metrics = metricsOf(ctx, upstream);
  if (upstream !== null) upstream.inFlight--;
  ctx.inFlight--;
  if (ended.ttfbMs !== null) metrics.ttfb(ended.ttfbMs / 1000);
  if (ended.outcome === 'upstream_error' || ended.outcome === 'timeout')
    metrics.upstreamError(ended.errorCode);
  metrics.requestFinished(ended.head.method ?? 'OTHER', ended.status, ended.outcome, durationMs / 1000);
  upstream?.traffic.record(ended.status, durationMs / 1000);
  logRequest(ctx.logger, ended, metrics.upstream, durationMs);
  if (ctx.inFlight === 0) ctx.onIdle();
}
