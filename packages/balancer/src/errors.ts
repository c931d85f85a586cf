/** Stable codes carried by every {@link BalancerError}. Match on `err.code`, not on `instanceof`. */
export type BalancerErrorCode =
  /** The targets given are not an iterable (an array, a Set, ...). */
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

/** Renders a received value for an error message: `` `-1` (number) ``. */
export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'number') shown = String(value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'symbol' || typeof value === 'function') shown = String(value);
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}

/** Throws `ERR_BALANCER_INVALID_OPTION` for `name` with what was received. */
export function invalidOption(name: string, expected: string, value: unknown): never {
  throw new BalancerError(
    'ERR_BALANCER_INVALID_OPTION',
    `Expected \`${name}\` to be ${expected}, got ${describe(value)}`,
  );
}

/** Checks that `options` is undefined or a plain object; returns it as a record (`{}` when undefined). */
export function optionsObject(options: unknown, what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    invalidOption(what, 'an object', options);
  return options as Record<string, unknown>;
}
