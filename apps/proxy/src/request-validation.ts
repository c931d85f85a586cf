// Requests the proxy refuses to forward (RFC 9112 / RFC 9110): anything whose framing or target is in
// doubt is answered by the proxy and never reaches an upstream. Node's HTTP parser rejects most malformed
// requests before they get here (errors.ts maps those); these are the checks it leaves to us, made on the
// request head read once per request.
//
// Hot path: an ordinary origin-form request with a plain Host costs a few character loops, no allocation.
import type { ProxyErrorCode } from './errors.js';
import type { RequestHead } from './request-head.js';
import { isOriginForm, isValidHost, sameAuthority } from './request-target.js';

const DIGITS = /^\d{1,15}$/;

/** The error to answer with, or `undefined` when the request may be forwarded. */
export function validate(head: RequestHead): ProxyErrorCode | undefined {
  if (head.versionMajor !== 1) return 'HTTP_VERSION_NOT_SUPPORTED';
  // A proxy that is not a tunnel does not implement CONNECT (RFC 9110 9.3.6).
  if (head.method === 'CONNECT') return 'NOT_IMPLEMENTED';
  // RFC 9112 3.2: more than one Host, none on HTTP/1.1, or an invalid Host value is a 400.
  if (head.hostCount > 1 || (head.hostCount === 0 && head.versionMinor >= 1)) return 'BAD_REQUEST';
  if (!isValidHost(head.host)) return 'BAD_REQUEST';
  if (head.contentLengthCount > 1 || (head.contentLength !== '' && !DIGITS.test(head.contentLength)))
    return 'BAD_REQUEST';
  if (head.transferEncodingCount > 0) {
    // RFC 9112 6.1: Content-Length with Transfer-Encoding is a smuggling attempt; HTTP/1.0 has no
    // chunked coding (RFC 9112 6.1, last paragraph: the framing is faulty, close).
    if (head.contentLengthCount > 0) return 'BAD_REQUEST';
    if (head.versionMinor === 0) return 'BAD_REQUEST';
    const te = transferCodings(head.transferEncoding);
    if (te !== 'chunked') return te;
  }
  return validateTarget(head);
}

/**
 * Classifies a Transfer-Encoding list (RFC 9112 6.1, 6.3): `'chunked'` when it is exactly chunked (any
 * case, empty list elements ignored); `'BAD_REQUEST'` when chunked is not the final coding (the body
 * length cannot be determined: RFC 9112 6.3 says 400 and close), is applied twice, or the list is empty;
 * `'NOT_IMPLEMENTED'` when chunked is final but other codings precede it (RFC 9112 6.1: a coding the
 * server does not understand is a 501; the proxy decodes none, and cannot pass them on either).
 */
export function transferCodings(value: string): 'chunked' | 'BAD_REQUEST' | 'NOT_IMPLEMENTED' {
  let codings = 0;
  let chunked = 0;
  let lastIsChunked = false;
  let start = 0;
  const n = value.length;
  for (let i = 0; i <= n; i++) {
    if (i < n && value.charCodeAt(i) !== 44 /* , */) continue;
    let a = start;
    let b = i;
    start = i + 1;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (a === b) continue; // empty list element (RFC 9110 5.6.1)
    codings++;
    lastIsChunked = b - a === 7 && equalsLowerAt(value, a, 'chunked');
    if (lastIsChunked) chunked++;
  }
  if (codings === 0 || !lastIsChunked || chunked > 1) return 'BAD_REQUEST';
  return codings === 1 ? 'chunked' : 'NOT_IMPLEMENTED';
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function equalsLowerAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Checks the request target (RFC 9112 3.2): origin-form without a fragment (`#` is not part of any
 * request-target, and a fragment the proxy and the upstream would split differently is a path
 * confusion), or absolute-form `http(s)://authority/path` whose authority is valid, carries no userinfo
 * (RFC 9110 4.2.4) and matches the Host header (RFC 9112 3.2.2; HAProxy answers a mismatch with 400 too).
 * Asterisk-form, authority-form and anything else is a 400 (see request-target.ts).
 */
function validateTarget(head: RequestHead): ProxyErrorCode | undefined {
  if (isOriginForm(head.url)) return head.url.indexOf('#') === -1 ? undefined : 'BAD_REQUEST';
  const form = head.absolute;
  if (form === undefined) return 'BAD_REQUEST';
  if (head.hostCount !== 1 || !sameAuthority(form.authority, head.host, form.https)) return 'BAD_REQUEST';
  return undefined;
}
