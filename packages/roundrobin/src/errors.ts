/** Stable codes carried by every {@link RoundRobinError}. Match on `err.code`, not on `instanceof`. */
export type RoundRobinErrorCode =
  /** The items or entries given are not an iterable. */
  | 'ERR_RR_INVALID_ITEMS'
  /** A weighted entry is not an object with `item` and `weight`. */
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

  constructor(code: RoundRobinErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Renders a received value for an error message: `` `-1` (number) ``. */
export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'symbol' || typeof value === 'function') shown = String(value);
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
    if (typeof value === 'number') shown = String(value);
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
