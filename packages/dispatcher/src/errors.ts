/** Stable codes carried by every {@link DispatcherError}. Match on `err.code`, not on `instanceof`. */
export type DispatcherErrorCode =
  /** An option given to the constructor is missing, of the wrong type or out of range. */
  | 'ERR_DISPATCHER_INVALID_OPTION'
  /** An upstream given to the constructor or to `setUpstreams` is not a valid URL, weight or name. */
  | 'ERR_DISPATCHER_INVALID_UPSTREAM'
  /** Two upstreams given together have the same name (or the same discovery URL). */
  | 'ERR_DISPATCHER_DUPLICATE_UPSTREAM'
  /** `setState` or `setWeight` named an upstream that is not in the set. */
  | 'ERR_DISPATCHER_UNKNOWN_UPSTREAM'
  /** `setState` got something other than `'ready'`, `'drain'` or `'maint'`. */
  | 'ERR_DISPATCHER_INVALID_STATE'
  /** `setWeight` got something other than an integer from 0 to 1,000,000. */
  | 'ERR_DISPATCHER_INVALID_WEIGHT';

/**
 * The error thrown for bad input: a `TypeError` with a stable `code` and a message that shows the value
 * received.
 *
 * Callers should match on `err.code`: an application can end up with both the ESM and the CommonJS copy
 * of this package loaded, and then `instanceof` fails across them.
 *
 * @example
 * try {
 *   lb.setState('10.0.0.9:8080', 'drain');
 * } catch (err) {
 *   if ((err as { code?: string }).code === 'ERR_DISPATCHER_UNKNOWN_UPSTREAM') ...
 * }
 */
export class DispatcherError extends TypeError {
  override readonly name = 'DispatcherError';
  readonly code: DispatcherErrorCode;

  constructor(code: DispatcherErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The error a request fails with, at once, when no upstream can take it (every one is down, ejected,
 * draining, in maintenance or of weight 0, or the set is empty). Its `code` is `ERR_NO_HEALTHY_UPSTREAM`.
 */
export class NoHealthyUpstreamError extends Error {
  override readonly name = 'NoHealthyUpstreamError';
  readonly code = 'ERR_NO_HEALTHY_UPSTREAM';

  constructor(message: string) {
    super(message);
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

/** Throws `ERR_DISPATCHER_INVALID_OPTION` for `name` with what was received. */
export function invalidOption(name: string, expected: string, value: unknown): never {
  throw new DispatcherError(
    'ERR_DISPATCHER_INVALID_OPTION',
    `Expected \`${name}\` to be ${expected}, got ${describe(value)}`,
  );
}

/** Throws `ERR_DISPATCHER_INVALID_UPSTREAM` for `what` with what was received. */
export function invalidUpstream(what: string, expected: string, value: unknown): never {
  throw new DispatcherError(
    'ERR_DISPATCHER_INVALID_UPSTREAM',
    `Expected ${what} to be ${expected}, got ${describe(value)}`,
  );
}
