import { optionChecks, type OptionChecks } from '@roundguard/internal';

/** Stable codes carried by every {@link BalancerError}. Match on `err.code`, not on `instanceof`. */
export type BalancerErrorCode =
  /** The targets given are not an iterable collection (an array, a Set, ...; a string is refused). */
  | 'ERR_BALANCER_INVALID_TARGETS'
  /** A target is not an object with a non-empty string `key`, or its `weight` is not an integer from 0 to 1,000,000. */
  | 'ERR_BALANCER_INVALID_TARGET'
  /** Two targets in the same set have the same `key`. */
  | 'ERR_BALANCER_DUPLICATE_KEY'
  /** An option given to a constructor or a factory is missing, of the wrong type or out of range. */
  | 'ERR_BALANCER_INVALID_OPTION';

/**
 * The one error class thrown by this package. It is a `TypeError` (every case is bad input), with a stable
 * `code`, and a message that shows the value received.
 *
 * Callers should match on `err.code`: an application can end up with both the ESM and the CommonJS copy
 * of this package loaded, and then `instanceof` fails across them.
 *
 * @example
 * try {
 *   balancer.setTargets([{ key: 'a' }, { key: 'a' }]);
 * } catch (err) {
 *   if ((err as { code?: string }).code === 'ERR_BALANCER_DUPLICATE_KEY') ...
 * }
 */
export class BalancerError extends TypeError {
  override readonly name = 'BalancerError';
  readonly code: BalancerErrorCode;

  constructor(code: BalancerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The checks of constructor and factory options, throwing `ERR_BALANCER_INVALID_OPTION`. */
export const option: OptionChecks = optionChecks(
  (message) => new BalancerError('ERR_BALANCER_INVALID_OPTION', message),
);
