import { isIntegerInRange, isNumberInRange, isPlainObject } from './checks.js';
import { expected } from './expected.js';

/** The longest delay `setTimeout` honours (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks of the options given to a library's constructors and factories. Each check returns the value
 * when it is good and otherwise throws the library's own error (see {@link optionChecks}), with a message
 * that names the option and shows what was received.
 */
export interface OptionChecks {
  /** Throws for option `name`: ``Expected `name` to be <expectation>, got `value` (type)``. */
  invalid(name: string, expectation: string, value: unknown): never;
  /** `options` as a record: `{}` when it is `undefined`, otherwise it must be an object (not `null`, not an array). */
  object(options: unknown, name: string): Record<string, unknown>;
  /** A boolean. */
  boolean(name: string, value: unknown): boolean;
  /** An integer from `min` up to `max` (both included; no upper bound when `max` is omitted). */
  integer(name: string, value: unknown, min: number, max?: number): number;
  /** A finite number of milliseconds from `min` to `max`, both included (fractions allowed). */
  milliseconds(name: string, value: unknown, min: number, max: number): number;
}

/**
 * Binds the option checks to a library's error: `makeError` gets the finished message and returns the
 * error to throw (the library's class, with its `ERR_*_INVALID_OPTION` code).
 *
 * @example
 * const option: OptionChecks = optionChecks((message) => new BalancerError('ERR_BALANCER_INVALID_OPTION', message));
 * const fall = option.integer('fall', o.fall ?? 1, 1);
 */
export function optionChecks(makeError: (message: string) => Error): OptionChecks {
  const invalid = (name: string, expectation: string, value: unknown): never => {
    throw makeError(expected(`\`${name}\``, expectation, value));
  };
  return {
    invalid,
    object(options, name) {
      if (options === undefined) return {};
      return isPlainObject(options) ? options : invalid(name, 'an object', options);
    },
    boolean(name, value) {
      return typeof value === 'boolean' ? value : invalid(name, 'a boolean', value);
    },
    integer(name, value, min, max) {
      if (isIntegerInRange(value, min, max ?? Number.MAX_SAFE_INTEGER)) return value;
      return invalid(
        name,
        max === undefined ? `an integer from ${min} and up` : `an integer from ${min} to ${max}`,
        value,
      );
    },
    milliseconds(name, value, min, max) {
      if (isNumberInRange(value, min, max)) return value;
      return invalid(name, `a number of milliseconds from ${min} to ${max}`, value);
    },
  };
}
