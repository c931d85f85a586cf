/** Stable codes carried by every {@link RoundRobinError}. Match on `err.code`, not on `instanceof`. */
export type RoundRobinErrorCode =
  /** The items or entries given are not an iterable collection (an array, a Set, ...; a string is refused). */
  | 'ERR_RR_INVALID_ITEMS'
  /** A weighted entry is not an object with an `item`. */
  | 'ERR_RR_INVALID_ENTRY'
  /** A weight is negative, fractional, not a number, or above {@link MAX_WEIGHT}. */
  | 'ERR_RR_INVALID_WEIGHT';

/**
 * The one error class thrown by this package. It is a `TypeError` (bad input), with a stable `code`.
 *
 * Callers should match on `err.code`: an application can end up with both the ESM and the CommonJS copy
 * of this package loaded, and then `instanceof` fails across them.
 *
 * @example
 * try { new WeightedRoundRobin([{ item: 'a', weight: -1 }]) }
 * catch (err) { if (err.code === 'ERR_RR_INVALID_WEIGHT') ... }
 */
export class RoundRobinError extends TypeError {
  override readonly name = 'RoundRobinError';
  readonly code: RoundRobinErrorCode;

  constructor(code: RoundRobinErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
