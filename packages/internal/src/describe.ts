/** Longest rendering of a value kept in a message; longer ones are cut and end in `...`. */
const MAX_SHOWN = 80;

/**
 * Renders a received value for an error message: the value, then its type in parentheses.
 * Never throws, whatever it is given (a cyclic object, a throwing `toJSON`, a null-prototype object).
 *
 * @example
 * describe(-1); // '`-1` (number)'
 * describe('x'); // '`"x"` (string)'
 * describe([1, 2]); // '`[1,2]` (array)'
 * describe(undefined); // '`undefined` (undefined)'
 */
export function describe(value: unknown): string {
  let shown = show(value);
  if (shown.length > MAX_SHOWN) shown = `${shown.slice(0, MAX_SHOWN - 3)}...`;
  return `\`${shown}\` (${typeOf(value)})`;
}

function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
    case 'function':
    case 'undefined':
    case 'boolean':
      return String(value);
    default:
      try {
        return JSON.stringify(value) ?? plain(value);
      } catch {
        return plain(value);
      }
  }
}

/** `String(value)`, or the `[object Tag]` form for objects that have no usable `toString`. */
function plain(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
