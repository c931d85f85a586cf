// What every request sent through the dispatcher shares, an Exchange (exchange.ts) as well as a WebSocket
// Tunnel (tunnel.ts): the one dispatch call, following the upstream the dispatcher chose (again on a
// retry), the in-flight counts of that upstream, aborting the upstream request (at once, or as soon as
// undici connected) and the one accounting at the end (account.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Outcome } from '@roundguard/metrics';
import type { Dispatcher } from 'undici';
import { account, requestArrived, type EndedRequest } from './account.js';
import { classifyUpstreamError, errorCode, NO_HEALTHY_UPSTREAM_ERROR, sendError, STATUS } from './errors.js';
import { upstreamRequestHeaders, VIA } from './header-rules.js';
import type { ProxyContext } from './proxy-context.js';
import type { RequestHead } from './request-head.js';
import { dataOf, type ProxyUpstream, type UpstreamData } from './upstreams.js';

/** How a failed request is accounted: the status, the outcome and the reason (error code). */
export interface FailureRecord {
  readonly status: number;
  readonly outcome: Outcome;
  readonly reason: string;
}

const NO_HEALTHY_UPSTREAM: FailureRecord = {
  status: STATUS.NO_HEALTHY_UPSTREAM,
  outcome: 'no_upstream',
  reason: 'NO_HEALTHY_UPSTREAM',
};

/**
 * The upstream of a request is chosen by the dispatcher during {@link UpstreamHandler.dispatch}, which
 * tells it through {@link UpstreamHandler.onUpstream}. The request is counted in flight for the process
 * from its arrival, for its upstream from then on, and accounted under that upstream (`none` when it
 * got none) in {@link UpstreamHandler.accountAs}.
 */
export abstract class UpstreamHandler implements EndedRequest {
  readonly ctx: ProxyContext;
  readonly req: IncomingMessage;
  readonly head: RequestHead;
  /** The upstream serving this request: null until the dispatcher chose one. */
  upstream: ProxyUpstream | null = null;
  /** Its `data` (metrics, in-flight count). */
  upstreamData: UpstreamData | null = null;
  /** Whether the upstream's in-flight gauge counts this request (from its connection on: no retry then). */
  metered = false;
  status = 0;
  outcome: Outcome = 'ok';
  errorCode = '';
  ttfbMs: number | null = null;
  bytesIn = 0;
  bytesOut = 0;
  /** An abort asked for before undici connected: applied in onConnect. */
  pendingAbort: Error | null = null;
  abortUpstream: ((err: Error) => void) | null = null;

  constructor(ctx: ProxyContext, req: IncomingMessage, head: RequestHead) {
    this.ctx = ctx;
    this.req = req;
    this.head = head;
    requestArrived(ctx);
  }

  /** The one dispatch call: the dispatcher picks the upstream and calls this handler back. */
  protected dispatch(body: Buffer | IncomingMessage | null, upgrade?: string): void {
    const head = this.head;
    const options: Dispatcher.DispatchOptions = {
      path: head.target as string,
      method: head.method,
      headers: upstreamRequestHeaders(this.req.rawHeaders, head),
      body,
    };
    if (upgrade !== undefined) options.upgrade = upgrade;
    this.ctx.dispatcher.dispatch(options, this);
  }

  // --- the dispatcher's hook, then the start of undici's DispatchHandler (legacy interface) ---

  /** The dispatcher chose `upstream` (again on a retry: the request moves to the next one). */
  onUpstream(upstream: ProxyUpstream): void {
    const data = upstream.data ?? dataOf(upstream, this.ctx.metrics, this.ctx.history);
    if (this.upstreamData !== null) this.upstreamData.inFlight--;
    data.inFlight++;
    this.upstream = upstream;
    this.upstreamData = data;
  }

  onConnect(abort: (err?: Error) => void): void {
    // Written to a connection from now on: it stays with this upstream (retries happen only before).
    if (!this.metered && this.upstreamData !== null) {
      this.metered = true;
      this.upstreamData.metrics.requestStarted();
    }
    this.abortUpstream = abort;
    if (this.pendingAbort !== null) abort(this.pendingAbort);
  }

  /** Aborts the upstream request now, or as soon as undici connects. */
  protected abort(err: Error): void {
    if (this.abortUpstream !== null) this.abortUpstream(err);
    else this.pendingAbort = err;
  }

  /** Headers of an error answer the proxy writes itself. */
  protected errorHeaders(): string[] {
    return ['x-request-id', this.head.requestId, 'via', VIA];
  }

  /**
   * Answers a failure that came before any byte of the upstream's answer was written to `res`: 503
   * `NO_HEALTHY_UPSTREAM` with Retry-After when the dispatcher had no upstream to pick (it decides at
   * once, during dispatch), else the 502 / 504 of errors.ts. Returns how the request is accounted.
   */
  protected answerFailure(err: Error, res: ServerResponse, close: boolean): FailureRecord {
    const headers = this.errorHeaders();
    if (this.upstream === null && errorCode(err) === NO_HEALTHY_UPSTREAM_ERROR) {
      headers.push('retry-after', this.ctx.retryAfter);
      this.bytesOut = sendError(res, 'NO_HEALTHY_UPSTREAM', headers, close);
      return NO_HEALTHY_UPSTREAM;
    }
    const failure = classifyUpstreamError(err);
    this.bytesOut = sendError(res, failure.code, headers, close);
    return failure;
  }

  /** Records how the request ended and accounts it: call once. */
  protected accountAs(status: number, outcome: Outcome, error: string): void {
    this.status = status;
    this.outcome = outcome;
    this.errorCode = error;
    const data = this.upstreamData;
    // Ended before it was written to a connection: counted in flight just now (under `none` when it got
    // no upstream), so that the gauge's +1 and -1 stay paired.
    if (!this.metered) (data === null ? this.ctx.noUpstream : data.metrics).requestStarted();
    account(this.ctx, data, this);
  }
}
