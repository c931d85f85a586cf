import { expected, isItemIterable } from '@roundguard/internal';
import { RoundRobinError } from './errors.js';

/**
 * Copies an iterable into a new array; throws `ERR_RR_INVALID_ITEMS` when it is not an iterable
 * collection (a string is refused: it would rotate over its characters).
 */
export function snapshot<T>(items: Iterable<T>, what: string): readonly T[] {
  if (!isItemIterable(items)) {
    throw new RoundRobinError(
      'ERR_RR_INVALID_ITEMS',
      expected(`\`${what}\``, 'an iterable other than a string (an array, a Set, ...)', items),
    );
  }
  return Array.from(items);
}
