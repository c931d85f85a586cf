// The per-request handler the dispatcher puts between undici's pool and the caller's handler. It forwards
// every callback unchanged and only watches the outcome: one class instance per request, no closures,
// and the chosen upstream's entry (with its pool) held directly, so nothing is looked up per request.
import type { Duplex } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { errorText, isConnectFailure, isUpstreamFailure } from './failures.js';
import type { Upstream, UpstreamEntry } from './upstream.js';

/** How a try ended, for the accounting of its upstream. */
export type Outcome = typeof SUCCESS | typeof FAILURE | typeof NEUTRAL;
/** An answer below 500, or an upgrade. */
export const SUCCESS = 0;
/** A connect error, a reset, a timeout or a 5xx answer. */
export const FAILURE = 1;
/** Neither: the caller aborted, the request was invalid, the dispatcher closed, ... */
export const NEUTRAL = 2;

/**
 * A dispatch handler as the dispatcher accepts it: undici's (either interface), plus an optional
 * `onUpstream` hook.
 */
export interface BalancedDispatchHandler<D = unknown> extends Dispatcher.DispatchHandler {
  /**
   * Called synchronously with the upstream chosen for the request, before the request is handed to its
   * pool; called again with the next upstream when the request is retried. The same {@link Upstream}
   * object comes back for every request to that upstream: keep per-upstream data in its `data` slot.
   *
   * @example
   * onUpstream(upstream) { this.upstream = upstream; upstream.data.inFlight++; }
   */
  onUpstream?(upstream: Upstream<D>): void;
}

/** What an attempt reports to the dispatcher. */
export interface AttemptOwner<D> {
  /** Extra tries allowed for a request that could not connect. */
  readonly retryAttempts: number;
  /** The try on `entry` ended. Called exactly once per try. */
  settle(entry: UpstreamEntry<D>, outcome: Outcome, reason: string): void;
  /** A connection to `entry` could not be made. */
  connectFailed(entry: UpstreamEntry<D>, reason: string): void;
  /** The upstream for retry number `attempt` of a request that could not reach `failed`, if any. */
  pickRetry(failed: UpstreamEntry<D>, attempt: number, error: Error): UpstreamEntry<D> | undefined;
}

type AnyHandler<D> = BalancedDispatchHandler<D> & Record<string, unknown>;

abstract class Attempt<D> {
  readonly owner: AttemptOwner<D>;
  readonly opts: Dispatcher.DispatchOptions;
  readonly handler: BalancedDispatchHandler<D>;
  entry!: UpstreamEntry<D>;
  /** Whether undici handed the request to a connection (from then on, it may have reached the upstream). */
  connected = false;
  /** The final response status (0 before one). */
  status = 0;
  /** Whether this try was accounted for. */
  settled = false;
  retries = 0;

  constructor(owner: AttemptOwner<D>, opts: Dispatcher.DispatchOptions, handler: BalancedDispatchHandler<D>) {
    this.owner = owner;
    this.opts = opts;
    this.handler = handler;
  }

  /** Tells the handler's `onUpstream` hook, then sends the request to `entry`'s pool. */
  send(entry: UpstreamEntry<D>): boolean {
    this.handler.onUpstream?.(entry.handle);
    return this.dispatchTo(entry);
  }

  dispatchTo(entry: UpstreamEntry<D>): boolean {
    this.entry = entry;
    this.connected = false;
    this.status = 0;
    this.settled = false;
    entry.inFlight++;
    entry.requests++;
    return entry.pool.dispatch(this.opts, this as unknown as Dispatcher.DispatchHandler);
  }

  /** The exchange ended with an answer (or an upgrade). */
  complete(): void {
    if (this.settled) return;
    this.settled = true;
    const status = this.status;
    this.owner.settle(this.entry, status >= 500 ? FAILURE : SUCCESS, `HTTP ${status}`);
  }

  /**
   * The exchange failed with `err`.
   *
   * @returns `true` when the request went to another upstream (the caller's handler hears nothing).
   */
  failed(err: Error): boolean {
    if (this.settled) return false;
    this.settled = true;
    const { entry, owner } = this;
    const body = this.opts.body;
    const reason = errorText(err);
    if (!this.connected && isConnectFailure(err, body)) {
      owner.settle(entry, FAILURE, reason);
      owner.connectFailed(entry, reason);
      if (this.retries < owner.retryAttempts) {
        const next = owner.pickRetry(entry, this.retries + 1, err);
        if (next !== undefined) {
          this.retries++;
          try {
            this.handler.onUpstream?.(next.handle);
          } catch (hookError) {
            // The application's hook threw: the request ends with its error, as at the first try.
            this.deliverError(hookError instanceof Error ? hookError : new Error(String(hookError)));
            return true;
          }
          this.dispatchTo(next);
          return true;
        }
      }
      return false;
    }
    const outcome = this.status >= 500 || isUpstreamFailure(err, body) ? FAILURE : NEUTRAL;
    owner.settle(entry, outcome, this.status >= 500 ? `HTTP ${this.status}` : reason);
    return false;
  }

  /** Hands an error to the caller's handler, in its interface. */
  abstract deliverError(err: Error): void;
}

/** For handlers with undici's legacy interface (`onConnect`, `onHeaders`, `onData`, ...). */
export class LegacyAttempt<D> extends Attempt<D> {
  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.connected = true;
    (this.handler.onConnect as (abort: (err?: Error) => void, context?: unknown) => void).call(
      this.handler,
      abort,
      context,
    );
  }

  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 200) this.status = statusCode;
    return (this.handler as Required<Dispatcher.DispatchHandler>).onHeaders(
      statusCode,
      headers,
      resume,
      statusText,
    );
  }

  onData(chunk: Buffer): boolean {
    return (this.handler as Required<Dispatcher.DispatchHandler>).onData(chunk);
  }

  onComplete(trailers: string[] | null): void {
    this.complete();
    (this.handler as Required<Dispatcher.DispatchHandler>).onComplete(trailers);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.status = statusCode;
    this.complete();
    (this.handler as Required<Dispatcher.DispatchHandler>).onUpgrade(statusCode, headers, socket);
  }

  onBodySent(chunk: number, total: number): void {
    if (this.handler.onBodySent !== undefined) this.handler.onBodySent(chunk, total);
  }

  onRequestSent(): void {
    (this.handler as { onRequestSent?: () => void }).onRequestSent?.();
  }

  onError(err: Error): void {
    if (this.failed(err)) return;
    this.deliverError(err);
  }

  deliverError(err: Error): void {
    (this.handler as Required<Dispatcher.DispatchHandler>).onError(err);
  }
}

/** For handlers with undici's controller interface (`onRequestStart`, `onResponseStart`, ...). */
export class ControllerAttempt<D> extends Attempt<D> {
  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.connected = true;
    this.handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    socket: Duplex,
  ): void {
    this.status = statusCode;
    this.complete();
    this.handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode >= 200) this.status = statusCode;
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    this.complete();
    this.handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (this.failed(err)) return;
    this.deliverTo(controller, err);
  }

  deliverError(err: Error): void {
    this.deliverTo(undefined, err);
  }

  private deliverTo(controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (typeof this.handler.onResponseError !== 'function') {
      // What undici itself does for a controller-style handler without it.
      throw new errors.InvalidArgumentError('invalid onError method');
    }
    this.handler.onResponseError(controller as Dispatcher.DispatchController, err);
  }
}

/**
 * Checks a legacy handler the way undici checks the handlers given to it, so that a broken one fails at
 * dispatch with undici's error, not later inside a callback.
 */
export function assertLegacyHandler(handler: AnyHandler<unknown>, opts: Dispatcher.DispatchOptions): void {
  if (typeof handler.onConnect !== 'function')
    throw new errors.InvalidArgumentError('invalid onConnect method');
  if (typeof handler.onError !== 'function') throw new errors.InvalidArgumentError('invalid onError method');
  if (handler.onBodySent !== undefined && typeof handler.onBodySent !== 'function') {
    throw new errors.InvalidArgumentError('invalid onBodySent method');
  }
  if (opts.upgrade || opts.method === 'CONNECT') {
    if (typeof handler.onUpgrade !== 'function')
      throw new errors.InvalidArgumentError('invalid onUpgrade method');
  } else {
    if (typeof handler.onHeaders !== 'function')
      throw new errors.InvalidArgumentError('invalid onHeaders method');
    if (typeof handler.onData !== 'function') throw new errors.InvalidArgumentError('invalid onData method');
    if (typeof handler.onComplete !== 'function') {
      throw new errors.InvalidArgumentError('invalid onComplete method');
    }
  }
}
