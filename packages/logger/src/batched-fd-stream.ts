import { EventEmitter } from 'node:events';
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/** Size of the buffer lines are encoded into; a line that does not fit flushes the buffer first. */
const BUFFER_BYTES = 64 * 1024;
/** Wait before retrying a write to a non-blocking descriptor that is full (EAGAIN). */
const RETRY_MS = 5;
/** While the descriptor stays full, lines past this many buffered bytes are dropped rather than kept. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

type WriteCallback = (err?: Error | null) => void;

/**
 * Internal to this package: the logger's JSON fast path encodes records straight into the buffer
 * (`json-bytes.ts`). `[kDirectBuffer]()` gives the buffer, or `undefined` when lines must go through
 * `write()` (the stream is closed, or waits out EAGAIN); the record is encoded from
 * `[kDirectOffset]()`, and `[kDirectCommit](end)` makes it part of what is written.
 */
export const kDirectBuffer: unique symbol = Symbol('BatchedFdStream.directBuffer');
export const kDirectOffset: unique symbol = Symbol('BatchedFdStream.directOffset');
export const kDirectCommit: unique symbol = Symbol('BatchedFdStream.directCommit');

/**
 * A log destination for a busy server: a file descriptor (stdout, or a file opened with `fs.openSync`)
 * written with one `write(2)` per event-loop turn instead of one per record.
 *
 * Under load many requests complete in the same loop turn; a system call per access-log line, plus a
 * `Writable`'s per-chunk bookkeeping, cost more than formatting the record. Here each
 * line is encoded as UTF-8 straight into one reusable buffer (the line string can be collected at once),
 * and the buffer is written from `setImmediate`, so a line reaches the descriptor at most one loop turn
 * after it was logged (sooner when the buffer fills up).
 *
 * It implements what `@roundguard/logger` uses of a stream: `write()` (always accepted: the writes are
 * synchronous, so nothing piles up beyond one buffer), `writableLength`, and `write('', callback)` to wait
 * until everything before it is written (what `logger.flush()` does). If the descriptor is non-blocking and
 * full (EAGAIN), lines are kept and retried every few milliseconds, up to 16 MiB; beyond that they are
 * dropped. A write error (e.g. EPIPE: nobody reads stdout any more) is emitted as `'error'`, then
 * `'close'`; later lines are dropped.
 */
export class BatchedFdStream extends EventEmitter implements NodeJS.WritableStream {
  /** Whether the descriptor is a terminal (the logger colors pretty output only on one). */
  readonly isTTY: boolean;
  writable = true;
  destroyed = false;
  readonly #fd: number;
  readonly #maxWrite: number;
  #buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  #length = 0;
  #callbacks: WriteCallback[] = [];
  #scheduled = false;
  /** Set while a write waits out EAGAIN: lines keep being buffered meanwhile. */
  #retrying = false;

  /**
   * @param fd the descriptor to write to (1 for stdout).
   * @param options.maxWriteBytes when set, no `write(2)` is larger than this, and each ends at a line
   * boundary (unless a single line is longer). Pass 4096 (`PIPE_BUF` on Linux) when several processes
   * share a pipe (node:cluster workers inheriting stdout): a pipe write that size or smaller is never
   * interleaved with another process's write, so lines from different processes never mix.
   */
  constructor(fd: number, options: { maxWriteBytes?: number } = {}) {
    super();
    const { maxWriteBytes } = options;
    if (maxWriteBytes !== undefined && (!Number.isInteger(maxWriteBytes) || maxWriteBytes < 1)) {
      throw new RangeError(`maxWriteBytes must be a positive integer, got ${String(maxWriteBytes)}`);
    }
    this.#maxWrite = maxWriteBytes ?? Number.POSITIVE_INFINITY;
    this.#fd = fd;
    this.isTTY = isatty(fd);
  }

  /**
   * Writes out everything buffered now, synchronously: for a `process.on('exit')` handler, where no
   * later loop turn comes (`process.exit()`, an uncaught exception). If the descriptor is full
   * (EAGAIN), what does not fit is dropped: an exiting process cannot wait.
   */
  flushSync(): void {
    if (this.destroyed || this.#length === 0) return;
    let offset = 0;
    try {
      while (offset < this.#length) offset += this.#writeSome(offset);
    } catch {
      // EAGAIN or a closed descriptor while exiting: nothing more can be done.
    }
    this.#length = 0;
  }

  /** Bytes logged and not yet written. */
  get writableLength(): number {
    return this.#length;
  }

  write(
    chunk: string | Uint8Array,
    encodingOrCallback?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    const cb = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (this.destroyed) {
      if (cb) process.nextTick(cb, new Error('the log destination is closed'));
      return false;
    }
    if (typeof chunk === 'string') {
      if (chunk.length > 0) this.#append(chunk);
    } else if (chunk.length > 0) {
      this.#appendBytes(chunk);
    }
    if (cb) this.#callbacks.push(cb);
    this.#schedule();
    return true;
  }

  [kDirectBuffer](): Uint8Array | undefined {
    return this.destroyed || this.#retrying ? undefined : this.#buffer;
  }

  [kDirectOffset](): number {
    return this.#length;
  }

  [kDirectCommit](end: number): void {
    this.#length = end;
    this.#schedule();
  }

  end(...args: unknown[]): this {
    const cb = args.find((a): a is () => void => typeof a === 'function');
    const chunk = args[0];
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) this.write(chunk);
    this.writable = false;
    this.write('', () => {
      this.emit('finish');
      cb?.();
    });
    return this;
  }

  #append(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const worst = text.length * 3;
    if (this.#retrying && this.#length + worst > MAX_BUFFERED_BYTES) return;
    if (this.#length + worst > this.#buffer.length) this.#makeRoom(worst);
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
  }

  #appendBytes(bytes: Uint8Array): void {
    if (this.#retrying && this.#length + bytes.length > MAX_BUFFERED_BYTES) return;
    if (this.#length + bytes.length > this.#buffer.length) this.#makeRoom(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Writes out what is buffered (unless a retry is pending), and grows the buffer for very long lines. */
  #makeRoom(needed: number): void {
    if (!this.#retrying && this.#length > 0) this.#writeBuffered([]);
    if (this.#length + needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.#buffer.length * 2, this.#length + needed));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
  }

  /** Writes the buffer out on the next loop turn, once however many lines come before it. */
  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#retrying || this.destroyed) return;
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    this.#writeBuffered(callbacks);
  };

  /** Writes the buffer out synchronously, then calls `callbacks`. */
  #writeBuffered(callbacks: WriteCallback[]): void {
    let offset = 0;
    try {
      while (offset < this.#length) offset += this.#writeSome(offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        // A non-blocking descriptor is full: keep the rest (and anything logged meanwhile), try again later.
        this.#buffer.copy(this.#buffer, 0, offset, this.#length);
        this.#length -= offset;
        this.#callbacks.unshift(...callbacks);
        this.#retrying = true;
        setTimeout(() => {
          this.#retrying = false;
          this.#flush();
        }, RETRY_MS);
        return;
      }
      this.#fail(err as Error, callbacks);
      return;
    }
    this.#length = 0;
    for (const cb of callbacks) cb();
  }

  /** One `write(2)` of the buffer from `offset`: all of it, or up to a line end within `maxWriteBytes`. */
  #writeSome(offset: number): number {
    let end = this.#length;
    if (end - offset > this.#maxWrite) {
      const lastNewline = this.#buffer.lastIndexOf(10, offset + this.#maxWrite - 1);
      end = lastNewline >= offset ? lastNewline + 1 : offset + this.#maxWrite;
    }
    return writeSync(this.#fd, this.#buffer, offset, end - offset);
  }

  #fail(err: Error, callbacks: WriteCallback[]): void {
    this.destroyed = true;
    this.writable = false;
    this.#length = 0;
    for (const cb of [...callbacks, ...this.#callbacks]) cb(err);
    this.#callbacks = [];
    this.emit('error', err);
    this.emit('close');
  }
}
