/**
 * Whether a `Content-Type` header value names a JSON media type: `application/json` or
 * `application/<anything>+json` (RFC 6839 structured syntax suffix), compared case-insensitively, with
 * parameters (`; charset=utf-8`) and surrounding whitespace ignored. A missing or empty header is not JSON.
 *
 * @example isJsonMediaType('application/json; charset=utf-8') // true
 * @example isJsonMediaType('application/problem+json') // true
 * @example isJsonMediaType('text/json') // false
 */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  // Fast path for the overwhelmingly common exact value.
  if (header === 'application/json') return true;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/json') return true;
  return JSON_SUFFIX.test(type);
}

/**
 * `application/` + an RFC 6838 subtype name ending in `+json`: the part before the suffix is 1+ restricted-name
 * characters and starts with a letter or digit.
 */
const JSON_SUFFIX = /^application\/[a-z0-9][a-z0-9!#$&^_.+-]*\+json$/;
