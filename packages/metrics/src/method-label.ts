/**
 * Value of the `method` label: one of the nine methods defined by RFC 9110 and RFC 5789, or `OTHER` for
 * anything else (WebDAV methods, typos, lower-case spellings), so the label set stays bounded.
 */
export type MethodLabel =
  'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'CONNECT' | 'TRACE' | 'OTHER';

/**
 * Every value the `method` label can take, in a fixed order (the index used by the hot path).
 *
 * @example
 * METHOD_LABELS.includes('GET'); // true
 */
export const METHOD_LABELS: readonly MethodLabel[] = Object.freeze([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'OTHER',
] as const);

/** Index of `OTHER` in {@link METHOD_LABELS}. */
const OTHER = 9;

/**
 * Position of `method` in {@link METHOD_LABELS}; `OTHER`'s position for anything non-standard.
 * Allocation-free: a `switch` over the nine standard spellings.
 */
export function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default:
      return OTHER;
  }
}

/**
 * Maps a request method to its `method` label value.
 *
 * Method names are case-sensitive (RFC 9110 §9.1): `GET` is `GET`, `get` is `OTHER`. Anything that is not
 * one of the nine standard methods, including non-strings, is `OTHER`.
 *
 * @param method the method as received, e.g. `req.method`.
 * @returns the standard method, or `'OTHER'`.
 * @example
 * normalizeMethod('GET');      // 'GET'
 * normalizeMethod('PROPFIND'); // 'OTHER'
 * normalizeMethod('get');      // 'OTHER'
 */
export function normalizeMethod(method: string): MethodLabel {
  return METHOD_LABELS[methodIndex(method)] ?? 'OTHER';
}
