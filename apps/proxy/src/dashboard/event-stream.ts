// GET /events: Server-Sent Events to a bounded set of viewers. One timer for all of them, started with
// the first viewer and stopped with the last; each tick builds one frame and writes it to every viewer.
// A viewer that does not read is skipped (its socket buffer is full) and cut after a while, so a stalled
// browser never makes the proxy buffer without bound.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** Most viewers at once; more get 503. */
  readonly maxClients: number;
  /** Time between two data frames. */
  readonly intervalMs: number;
  /** Time between two comment lines that keep a quiet stream (and proxies in between) alive. */
  readonly heartbeatMs: number;
  /** The data of one frame: a JSON text (one line). */
  readonly produce: () => Promise<string>;
  /** Ends or refuses a response with a JSON error (errors.ts), with more headers as a flat list. */
  readonly refuse: (
    res: ServerResponse,
    code: 'SHUTTING_DOWN' | 'TOO_MANY_EVENT_STREAMS',
    message?: string,
    headers?: readonly string[],
  ) => void;
  /** Headers of every accepted stream besides the SSE ones. */
  readonly headers: Readonly<Record<string, string>>;
  readonly onError: (err: unknown) => void;
}

interface Viewer {
  readonly res: ServerResponse;
  /** Ticks in a row at which its socket buffer was still full. */
  stalled: number;
}

/** Ticks a viewer may stay unable to take a frame before it is cut. */
const MAX_STALLED_TICKS = 30;

export class EventStreams {
  readonly #options: EventStreamOptions;
  readonly #viewers = new Set<Viewer>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #lastWrite = 0;
  #closed = false;

  constructor(options: EventStreamOptions) {
    this.#options = options;
  }

  /** Viewers connected now. */
  get size(): number {
    return this.#viewers.size;
  }

  accept(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) {
      res.shouldKeepAlive = false;
      return this.#options.refuse(res, 'SHUTTING_DOWN');
    }
    if (this.#viewers.size >= this.#options.maxClients) {
      return this.#options.refuse(
        res,
        'TOO_MANY_EVENT_STREAMS',
        `at most ${this.#options.maxClients} event streams are served at once`,
        ['retry-after', '5'],
      );
    }
    const viewer: Viewer = { res, stalled: 0 };
    this.#viewers.add(viewer);
    const leave = (): void => {
      this.#viewers.delete(viewer);
      if (this.#viewers.size === 0) this.#stop();
    };
    res.on('close', leave);
    res.on('error', leave);
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      ...this.#options.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    // The browser reconnects after this long if the stream ends.
    res.write('retry: 2000\n\n');
    this.#start();
    this.#options.produce().then(
      (data) => this.#write(viewer, `data: ${data}\n\n`),
      (err: unknown) => this.#options.onError(err),
    );
  }

  /** Ends every stream and refuses new ones (the server is draining). */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const viewer of this.#viewers) {
      viewer.res.shouldKeepAlive = false;
      viewer.res.end();
    }
    this.#viewers.clear();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#lastWrite = Date.now();
    this.#timer = setInterval(() => void this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    // A slow status source never stacks ticks.
    if (this.#ticking) return;
    this.#ticking = true;
    let frame: string | undefined;
    try {
      frame = `data: ${await this.#options.produce()}\n\n`;
    } catch (err) {
      this.#options.onError(err);
    } finally {
      this.#ticking = false;
    }
    if (frame === undefined && Date.now() - this.#lastWrite >= this.#options.heartbeatMs) {
      frame = ': heartbeat\n\n';
    }
    if (frame === undefined) return;
    this.#lastWrite = Date.now();
    for (const viewer of this.#viewers) this.#write(viewer, frame);
  }

  #write(viewer: Viewer, frame: string): void {
    const { res } = viewer;
    if (!this.#viewers.has(viewer) || res.writableEnded || res.destroyed) return;
    if (res.writableNeedDrain) {
      if (++viewer.stalled >= MAX_STALLED_TICKS) res.destroy();
      return;
    }
    viewer.stalled = 0;
    res.write(frame);
  }
}
