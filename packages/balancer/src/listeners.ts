import { option } from './errors.js';

/** Stops a subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

const NONE: readonly never[] = Object.freeze([]);

/**
 * A list of synchronous listeners. Copy on write: a listener added or removed while listeners are being
 * called does not change that round. A listener that throws does not stop the others: its error is
 * rethrown asynchronously (it surfaces as an uncaught exception, as with `EventTarget`), so the state
 * change that caused the call always completes.
 */
export class Listeners<A extends unknown[]> {
  #list: readonly ((...args: A) => void)[] = NONE;

  add(listener: (...args: A) => void): Unsubscribe {
    if (typeof listener !== 'function') option.invalid('listener', 'a function', listener);
    this.#list = [...this.#list, listener];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const list = this.#list;
      const i = list.indexOf(listener);
      if (i >= 0) this.#list = [...list.slice(0, i), ...list.slice(i + 1)];
    };
  }

  emit(...args: A): void {
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as (...args: A) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
