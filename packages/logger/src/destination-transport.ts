import winston from 'winston';

/** triple-beam's symbols (registered globally, so `Symbol.for` gives the ones winston uses). */
export const MESSAGE: unique symbol = Symbol.for('message') as never;
export const LEVEL: unique symbol = Symbol.for('level') as never;

/** A winston `info` object whose `[MESSAGE]` is the finished line. */
export interface FormattedInfo {
  level: string;
  message: string;
  [LEVEL]: string;
  [MESSAGE]: string;
}

/** Past this many buffered characters, a warning is emitted (once per stall): see {@link DestinationTransport}. */
export const BACKLOG_WARNING_CHARS = 8 * 1024 * 1024;

type TransportClass = typeof winston.transport;
/** winston's base class of transports (`winston.Transport` at run time; typed as `winston.transport`). */
const TransportStream = (winston as unknown as { Transport: TransportClass }).Transport;

interface NodeWritableParts {
  destroyed?: boolean;
  writableEnded?: boolean;
  writableLength?: number;
  writableObjectMode?: boolean;
}

/**
 * A winston transport that writes finished lines (`info[MESSAGE]`) to a destination stream, honoring
 * its back-pressure without ever dropping a record:
 *
 * - While the destination accepts writes (`write()` returns `true`), each line is written at once, in
 *   its own `write()` call.
 * - Once `write()` returns `false`, lines are appended to an in-memory backlog instead, in order; on
 *   `'drain'` the backlog goes out as a single `write()`. Nothing is dropped, so a destination that
 *   stays slower than the log rate makes the backlog grow: past {@link BACKLOG_WARNING_CHARS} (8 Mi
 *   characters), a `process.emitWarning` with code `ROUNDGUARD_LOGGER_BACKLOG` says so, once per stall.
 * - If the destination closes or is destroyed, the backlog is discarded and later lines are not written
 *   (there is nowhere to write them); `flush()` then resolves at once.
 *
 * `log()` always calls back synchronously: winston's stream pipeline never holds records, so `write()`
 * order is record order.
 */
export class DestinationTransport extends TransportStream {
  readonly #destination: NodeJS.WritableStream;
  #backlog: string[] = [];
  #backlogChars = 0;
  #blocked = false;
  #closed = false;
  #warned = false;
  #waiters: (() => void)[] = [];

  constructor(destination: NodeJS.WritableStream) {
    super({});
    this.#destination = destination;
  }

  /** winston's entry point: writes `info[MESSAGE]`, then calls back. */
  override log(info: FormattedInfo, callback: () => void): void {
    this.writeLine(info[MESSAGE]);
    callback();
  }

  /** Writes one finished line (newline included), or queues it while the destination pushes back. */
  writeLine(line: string): void {
    if (this.#blocked) {
      this.#backlog.push(line);
      this.#backlogChars += line.length;
      if (this.#backlogChars > BACKLOG_WARNING_CHARS && !this.#warned) this.#warn();
      return;
    }
    if (this.#closed) return;
    if (!this.#destination.write(line)) this.#block();
  }

  /** Resolves once the backlog is empty and the destination has written out what it buffered. */
  drained(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#blocked) return new Promise((resolve) => this.#waiters.push(resolve));
    const dest = this.#destination as NodeJS.WritableStream & NodeWritableParts;
    if (
      typeof dest.writableLength === 'number' &&
      dest.writableLength > 0 &&
      dest.writableObjectMode !== true
    ) {
      // An empty write calls back once everything written before it has been written out.
      return new Promise((resolve) => {
        dest.write('', () => resolve());
      });
    }
    return Promise.resolve();
  }

  #block(): void {
    const dest = this.#destination as NodeJS.WritableStream & NodeWritableParts;
    if (dest.destroyed === true || dest.writableEnded === true) {
      this.#close();
      return;
    }
    this.#blocked = true;
    dest.once('drain', this.#onDrain);
    dest.once('close', this.#onClose);
  }

  readonly #onDrain = (): void => {
    this.#destination.removeListener('close', this.#onClose);
    this.#blocked = false;
    this.#warned = false;
    const backlog = this.#backlog;
    if (backlog.length > 0) {
      this.#backlog = [];
      this.#backlogChars = 0;
      if (!this.#destination.write(backlog.length === 1 ? (backlog[0] as string) : backlog.join(''))) {
        this.#block();
        return;
      }
    }
    this.#settle();
  };

  readonly #onClose = (): void => {
    this.#destination.removeListener('drain', this.#onDrain);
    this.#close();
  };

  #close(): void {
    this.#closed = true;
    this.#blocked = false;
    this.#backlog = [];
    this.#backlogChars = 0;
    this.#settle();
  }

  #settle(): void {
    if (this.#blocked || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    void this.drained().then(() => {
      for (const resolve of waiters) resolve();
    });
  }

  #warn(): void {
    this.#warned = true;
    process.emitWarning(
      `@roundguard/logger: the log destination is not keeping up; ${this.#backlog.length} records ` +
        `(${this.#backlogChars} characters) are waiting for it to drain. Records are kept, not dropped.`,
      { code: 'ROUNDGUARD_LOGGER_BACKLOG' },
    );
  }
}
