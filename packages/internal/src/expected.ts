import { describe } from './describe.js';

/**
 * The message of every bad-input error of the libraries: what was expected, then what was received.
 *
 * @param subject what is wrong, as it should read (`` `weight` of entry 1 ``, `` `options` ``).
 * @param expectation what it should have been (`an integer from 0 to 1000000`).
 * @example
 * expected('`fall`', 'an integer from 1 and up', 0); // 'Expected `fall` to be an integer from 1 and up, got `0` (number)'
 */
export function expected(subject: string, expectation: string, value: unknown): string {
  return `Expected ${subject} to be ${expectation}, got ${describe(value)}`;
}
