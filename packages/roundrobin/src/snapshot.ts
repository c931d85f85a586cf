import { RoundRobinError, describe } from './errors.js';

/** Copies an iterable into a new array; throws `ERR_RR_INVALID_ITEMS` when it is not iterable. */
export function snapshot<T>(items: Iterable<T>, what: string): readonly T[] {
  if (
    items === null ||
    items === undefined ||
    typeof (items as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    throw new RoundRobinError(
      'ERR_RR_INVALID_ITEMS',
      `Expected \`${what}\` to be an iterable (an array, a Set, ...), got ${describe(items)}`,
    );
  }
  return Array.from(items);
}
