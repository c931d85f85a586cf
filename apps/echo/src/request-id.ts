/** 1 to 128 characters from the set used by UUIDs, ULIDs, base64/base64url ids and `host:pid-counter` ids. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:+/=@-]{1,128}$/;

/**
 * The client's `X-Request-Id` when it is sane enough to log, else `undefined` (absent, repeated, too long, or
 * with characters outside `A-Z a-z 0-9 . _ : + / = @ -`).
 *
 * @example saneRequestId('7f0c2a4e-1b1e-4d53-9e4b-0d8f6c1f2a3b') // the same string
 * @example saneRequestId('a b') // undefined
 */
export function saneRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : undefined;
}
