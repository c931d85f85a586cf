/**
 * Collects items during one turn of the event loop and hands each to `write` at the end of that turn (from
 * `setImmediate`, i.e. after every socket that was readable in this turn has been read).
 *
 * Why the echo server answers through one: under load one turn reads requests from many connections. Writing
 * each answer as soon as it is ready interleaves a `write(2)` with the handling of every request, and each of
 * those writes may have to wake the client's thread on another CPU, which then goes back to sleep before the
 * next one. Writing the turn's answers back to back lets the client find several of them per wake-up. On the
 * 2-vCPU benchmark machine that was worth about 5 µs of server CPU per request (see the README's Benchmark).
 * An answer waits at most for the rest of its turn; with one request per turn it goes out in the same turn.
 */
export class EndOfTurnBatch<T> {
  readonly #items: T[] = [];
  #scheduled = false;
  readonly #write: (item: T) => void;
  readonly #onError: (err: unknown, item: T) => void;

  /**
   * @param write writes one item out.
   * @param onError called when `write` throws for an item; the other items are still written.
   */
  constructor(write: (item: T) => void, onError: (err: unknown, item: T) => void) {
    this.#write = write;
    this.#onError = onError;
  }

  /** Items waiting for the end of the turn. */
  get size(): number {
    return this.#items.length;
  }

  /** Queues `item` to be written at the end of the current turn of the event loop. */
  add(item: T): void {
    this.#items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onImmediate);
    }
  }

  readonly #onImmediate = (): void => this.flush();

  /** Writes the waiting items now, in order (for when something must follow them before the turn ends). */
  flush(): void {
    const items = this.#items;
    try {
      // Items added while writing (synchronously) are written in this same pass.
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as T;
        try {
          this.#write(item);
        } catch (err) {
          this.#onError(err, item);
        }
      }
    } finally {
      items.length = 0;
      this.#scheduled = false;
    }
  }
}
