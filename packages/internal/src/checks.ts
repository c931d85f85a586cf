/** Whether `value` is an integer from `min` to `max`, both included. */
export function isIntegerInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Whether `value` is a finite number from `min` to `max`, both included. */
export function isNumberInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

/** Whether `value` is an object that is neither `null` nor an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Whether `value` is an iterable collection of items (an array, a Set, a generator, ...). A string is
 * iterable too, but as its characters, which is never what a caller passing a set of items meant, so
 * strings (and `String` objects) are refused.
 */
export function isItemIterable(value: unknown): value is Iterable<unknown> {
  if (value === null || value === undefined || typeof value === 'string' || value instanceof String)
    return false;
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
