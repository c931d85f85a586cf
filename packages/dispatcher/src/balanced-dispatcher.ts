import { EventEmitter } from 'node:events';
import { Dispatcher, errors } from 'undici';
import {
  ControllerAttempt,
  LegacyAttempt,
  assertLegacyHandler,
  type BalancedDispatchHandler,
} from './attempt.js';
import { NoHealthyUpstreamError } from './errors.js';
import type { BalancedDispatcherEvents } from './events.js';
import { parseOptions, type BalancedDispatcherOptions } from './options.js';
import { UpstreamRegistry, type Emit } from './upstream-registry.js';
import type { AdminState, Upstream, UpstreamStatus } from './upstream.js';
import { parseUpstreams, type UpstreamSpec } from './upstream-spec.js';

type Callback = (err: Error | null, data: null) => void;
type Listener<A extends unknown[]> = (...args: A) => void;
type UndiciEvents = {
  connect: [origin: URL, targets: readonly Dispatcher[]];
  disconnect: [origin: URL, targets: readonly Dispatcher[], error: Error];
  connectionError: [origin: URL, targets: readonly Dispatcher[], error: Error];
  drain: [origin: URL];
};
type AllEvents<D> = BalancedDispatcherEvents<D> & UndiciEvents;

/**
 * A client-side load balancer that is an undici `Dispatcher`: give it to `request`, `stream`,
 * `pipeline`, `upgrade`, `fetch(url, { dispatcher })` or `setGlobalDispatcher`, and each request goes to
 * the next upstream in (smooth weighted) round-robin order, through that upstream's own undici `Pool`.
 * The request's origin is replaced by the upstream's; its path, query, method, headers and body are
 * sent unchanged.
 *
 * Upstreams leave the rotation when a health probe fails, when a connection to them fails, when outlier
 * detection ejects them, or when they are drained or put in maintenance; a request with no upstream to
 * go to fails at once with `ERR_NO_HEALTHY_UPSTREAM`. Retries are off unless asked for, and then only
 * for requests that provably reached no upstream.
 *
 * `D` is the type of the application's per-upstream `data` slot (see {@link Upstream}).
 *
 * @example
 * const lb = new BalancedDispatcher({ upstreams: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'] });
 * const { statusCode, body } = await request('http://orders.internal/items?id=1', { dispatcher: lb });
 * await lb.close();
 */
// The interface merged below only adds typed signatures of EventEmitter methods the class inherits.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class BalancedDispatcher<D = unknown> extends Dispatcher {
  readonly #registry: UpstreamRegistry<D>;
  #closed = false;
  #destroyed = false;
  #onClosed: Callback[] | null = null;
  #onDestroyed: Callback[] | null = null;
  /** Requests that came before the first lookup of the discovery URLs gave any upstream. */
  #parked: [Dispatcher.DispatchOptions, BalancedDispatchHandler<D>][] | null = null;

  /**
   * @param options see {@link BalancedDispatcherOptions}.
   * @throws {DispatcherError} `ERR_DISPATCHER_INVALID_OPTION`, `ERR_DISPATCHER_INVALID_UPSTREAM` or
   * `ERR_DISPATCHER_DUPLICATE_UPSTREAM`, naming what was wrong and the value received.
   */
  constructor(options: BalancedDispatcherOptions) {
    super();
    const settings = parseOptions(options);
    const parsed = parseUpstreams(settings.upstreams, 'upstreams');
    this.#registry = new UpstreamRegistry<D>(settings, parsed, this, this.#emitEvent);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `destroy()` was called, or `close()` finished. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * undici's dispatch: picks the next upstream and hands the request to its pool, with a thin wrapper
   * around `handler` that watches the outcome. Both handler interfaces of undici 7 work. A handler may
   * have an `onUpstream(upstream)` hook, called with the chosen upstream before the request is sent.
   */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: BalancedDispatchHandler<D>): boolean {
    if (handler === null || typeof handler !== 'object') {
      throw new errors.InvalidArgumentError('handler must be an object');
    }
    try {
      if (opts === null || typeof opts !== 'object') {
        throw new errors.InvalidArgumentError('opts must be an object.');
      }
      if (this.#destroyed) throw new errors.ClientDestroyedError();
      if (this.#closed) throw new errors.ClientClosedError();
      return this.#route(opts, handler);
    } catch (err) {
      fail(handler, err);
      return false;
    }
  }

  #route(opts: Dispatcher.DispatchOptions, handler: BalancedDispatchHandler<D>): boolean {
    const controllerStyle = typeof handler.onRequestStart === 'function';
    if (!controllerStyle) assertLegacyHandler(handler as never, opts);
    const entry = this.#registry.pick();
    if (entry === undefined) {
      if (this.#registry.discovering) {
        this.#park(opts, handler);
        return true;
      }
      throw new NoHealthyUpstreamError(`No healthy upstream (${this.#registry.describeEmpty()})`);
    }
    const attempt = controllerStyle
      ? new ControllerAttempt<D>(this.#registry, opts, handler)
      : new LegacyAttempt<D>(this.#registry, opts, handler);
    return attempt.send(entry);
  }

  #park(opts: Dispatcher.DispatchOptions, handler: BalancedDispatchHandler<D>): void {
    if (this.#parked === null) {
      this.#parked = [];
      void this.#registry.ready.then(() => {
        const parked = this.#parked ?? [];
        this.#parked = null;
        for (const [o, h] of parked) {
          try {
            if (this.#destroyed) throw new errors.ClientDestroyedError();
            this.#route(o, h);
          } catch (err) {
            fail(h, err);
          }
        }
      });
    }
    this.#parked.push([opts, handler]);
  }

  /** A snapshot of every upstream (draining ones included), in rotation order. */
  status(): UpstreamStatus[] {
    return this.#registry.status();
  }

  /** The upstreams of the set, as the application's {@link Upstream} objects (for their `data` slot). */
  upstreams(): Upstream<D>[] {
    return this.#registry.handles();
  }

  /**
   * Settles when the first lookup of every discovery URL given to the constructor was applied (at once
   * when there is none). Requests sent before then wait for it when no upstream is known yet.
   */
  ready(): Promise<void> {
    return this.#registry.ready;
  }

  /**
   * Replaces the set of upstreams (same forms as the constructor's `upstreams`). Upstreams that stay
   * keep their state, counters and connections; new ones, and the upstreams of new discovery URLs, join
   * after their first good probe (at once without health checks); the others are drained: no new
   * requests, and they leave once their requests in flight are done. The whole set is validated first:
   * on a bad upstream this throws and nothing changes.
   *
   * @throws {DispatcherError} `ERR_DISPATCHER_INVALID_UPSTREAM` or `ERR_DISPATCHER_DUPLICATE_UPSTREAM`.
   */
  setUpstreams(upstreams: Iterable<UpstreamSpec>): void {
    const parsed = parseUpstreams(upstreams, 'upstreams');
    if (this.#closed || this.#destroyed) throw new errors.ClientClosedError();
    this.#registry.setUpstreams(parsed, false);
  }

  /**
   * Sets an upstream's administrative state: `'ready'` (takes traffic when healthy), `'drain'` (no new
   * requests; probes go on) or `'maint'` (no new requests, no probes; back to `'ready'`, it takes traffic
   * after its first good probe). Requests in flight always finish.
   *
   * @returns its status after the change.
   * @throws {DispatcherError} `ERR_DISPATCHER_UNKNOWN_UPSTREAM` or `ERR_DISPATCHER_INVALID_STATE`.
   */
  setState(name: string, state: AdminState): UpstreamStatus {
    return this.#registry.setState(name, state);
  }

  /**
   * Sets an upstream's weight (an integer from 0 to 1,000,000; 0 keeps it out of rotation). A DNS
   * refresh that finds a different SRV weight for it sets that one.
   *
   * @returns its status after the change.
   * @throws {DispatcherError} `ERR_DISPATCHER_UNKNOWN_UPSTREAM` or `ERR_DISPATCHER_INVALID_WEIGHT`.
   */
  setWeight(name: string, weight: number): UpstreamStatus {
    return this.#registry.setWeight(name, weight);
  }

  /**
   * Stops probes and lookups, lets every request in flight finish, then closes every connection. New
   * requests fail with undici's `ClientClosedError` from the call on.
   */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: Callback): Promise<void> | void {
    if (callback === undefined) {
      return new Promise<void>((resolve, reject) => {
        this.close(((err: Error | null) => (err ? reject(err) : resolve())) as () => void);
      });
    }
    if (typeof callback !== 'function') throw new errors.InvalidArgumentError('invalid callback');
    if (this.#destroyed) {
      const err = new errors.ClientDestroyedError();
      queueMicrotask(() => callback(err, null));
      return;
    }
    if (this.#closed) {
      if (this.#onClosed !== null) this.#onClosed.push(callback);
      else queueMicrotask(() => callback(null, null));
      return;
    }
    this.#closed = true;
    this.#onClosed = [callback];
    // Requests waiting for the first DNS answers are requests in flight: they go out first.
    const held = this.#parked === null ? Promise.resolve() : this.#registry.ready;
    void held
      .then(() => this.#registry.close())
      .then(() => {
        this.#destroyed = true;
        const callbacks = this.#onClosed ?? [];
        this.#onClosed = null;
        for (const cb of callbacks) cb(null, null);
      });
  }

  /**
   * Stops everything at once: requests in flight and waiting fail with `err` (undici's
   * `ClientDestroyedError` by default), connections are closed.
   */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(errOrCallback?: Error | null | Callback, maybeCallback?: Callback): Promise<void> | void {
    let err = errOrCallback;
    let callback = maybeCallback;
    if (typeof err === 'function') {
      callback = err;
      err = null;
    }
    if (callback === undefined) {
      return new Promise<void>((resolve) => {
        this.destroy(err as Error | null, () => resolve());
      });
    }
    if (typeof callback !== 'function') throw new errors.InvalidArgumentError('invalid callback');
    const cb = callback;
    if (this.#destroyed) {
      if (this.#onDestroyed !== null) this.#onDestroyed.push(cb);
      else queueMicrotask(() => cb(null, null));
      return;
    }
    const reason = err ?? new errors.ClientDestroyedError();
    this.#destroyed = true;
    this.#onDestroyed = [cb];
    const parked = this.#parked ?? [];
    this.#parked = null;
    for (const [, handler] of parked) fail(handler, reason);
    void this.#registry.destroy(reason).then(() => {
      const callbacks = this.#onDestroyed ?? [];
      this.#onDestroyed = null;
      queueMicrotask(() => {
        for (const c of callbacks) c(null, null);
      });
    });
  }

  /** Emits an event; a listener that throws does not break the dispatcher (its error is rethrown later). */
  readonly #emitEvent: Emit<D> = (event, ...args) => {
    try {
      EventEmitter.prototype.emit.call(this, event, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  };
}

/** Typed listeners for the dispatcher's own events and undici's. */
export interface BalancedDispatcher<D = unknown> {
  on<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  once<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  off<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  addListener<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  removeListener<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  prependListener<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
  prependOnceListener<K extends keyof AllEvents<D>>(event: K, listener: Listener<AllEvents<D>[K]>): this;
}

/** Hands an error to a handler in its own interface, as undici's dispatchers do. */
function fail(handler: BalancedDispatchHandler<never>, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  if (typeof handler.onRequestStart === 'function') {
    if (typeof handler.onResponseError !== 'function')
      throw new errors.InvalidArgumentError('invalid onError method');
    handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, error);
    return;
  }
  if (typeof handler.onError !== 'function') throw error;
  handler.onError(error);
}
