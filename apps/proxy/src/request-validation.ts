// Requests the proxy refuses to forward (RFC 9112 / RFC 9110): anything whose framing or target is in
// doubt is answered here and never reaches an upstream. Node's HTTP parser rejects most malformed
// requests before they get here (they are answered in proxy-server.ts' clientError handler, with the
// status chosen by `parserErrorStatus` below); these are the checks it leaves to us.
//
// Hot path: an ordinary origin-form request with a plain Host costs a few character loops, no allocation.
import type { IncomingMessage } from 'node:http';
import type { ProxyErrorCode } from './errors.js';
import type { RequestFacts } from './header-rules.js';

const DIGITS = /^\d{1,15}$/;

/** The error to answer with, or `undefined` when the request may be forwarded. */
export function validateRequest(req: IncomingMessage, facts: RequestFacts): ProxyErrorCode | undefined {
  if (req.httpVersionMajor !== 1) return 'HTTP_VERSION_NOT_SUPPORTED';
  // A proxy that is not a tunnel does not implement CONNECT (RFC 9110 9.3.6).
  if (req.method === 'CONNECT') return 'NOT_IMPLEMENTED';
  // RFC 9112 3.2: more than one Host, none on HTTP/1.1, or an invalid Host value is a 400.
  if (facts.hostCount > 1 || (facts.hostCount === 0 && req.httpVersionMinor >= 1)) return 'BAD_REQUEST';
  if (!isValidHost(facts.host)) return 'BAD_REQUEST';
  if (facts.contentLengthCount > 1 || (facts.contentLength !== '' && !DIGITS.test(facts.contentLength)))
    return 'BAD_REQUEST';
  if (facts.transferEncodingCount > 0) {
    // RFC 9112 6.1: Content-Length with Transfer-Encoding is a smuggling attempt; HTTP/1.0 has no
    // chunked coding (RFC 9112 6.1, last paragraph: the framing is faulty, close).
    if (facts.contentLengthCount > 0) return 'BAD_REQUEST';
    if (req.httpVersionMinor === 0) return 'BAD_REQUEST';
    const te = transferCodings(facts.transferEncoding);
    if (te !== 'chunked') return te;
  }
  return validateTarget(req.url as string, facts);
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
 * Characters of a Host value (RFC 9110 7.2, RFC 3986 3.2.2: reg-name, IP-literal, port): unreserved,
 * pct-encoded, sub-delims, `:` and the brackets of an IPv6 literal. No space, `/`, `@`, `?`, `#`, ...
 */
const HOST_CHARS = (() => {
  const table = new Uint8Array(128);
  const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]";
  for (let i = 0; i < allowed.length; i++) table[allowed.charCodeAt(i)] = 1;
  return table;
})();

/** A syntactically valid Host value (empty is valid: RFC 9110 7.2, a target without authority). */
export function isValidHost(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || HOST_CHARS[c] !== 1) return false;
  }
  return true;
}

/**
 * Checks the request target (RFC 9112 3.2): origin-form without a fragment (`#` is not part of any
 * request-target, and a fragment the proxy and the upstream would split differently is a path
 * confusion), or absolute-form `http(s)://authority/path` whose authority is valid, carries no userinfo
 * (RFC 9110 4.2.4) and matches the Host header (RFC 9112 3.2.2; HAProxy answers a mismatch with 400 too).
 * Asterisk-form, authority-form and anything else is a 400 (see {@link originFormTarget}).
 */
function validateTarget(url: string, facts: RequestFacts): ProxyErrorCode | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url.indexOf('#') === -1 ? undefined : 'BAD_REQUEST';
  const form = absoluteForm(url);
  if (form === undefined) return 'BAD_REQUEST';
  if (facts.hostCount !== 1 || !sameAuthority(form.authority, facts.host, form.https)) return 'BAD_REQUEST';
  return undefined;
}

interface AbsoluteForm {
  readonly https: boolean;
  readonly authority: string;
  /** The origin-form target: the path (`/` when empty) and query, unchanged. */
  readonly path: string;
}

const ABSOLUTE_FORM = /^(https?):\/\/([^/?#]*)([^#]*)$/i;

/** Splits an absolute-form target; `undefined` when it is not one the proxy accepts. */
function absoluteForm(url: string): AbsoluteForm | undefined {
  const match = ABSOLUTE_FORM.exec(url);
  if (match === null) return undefined;
  const authority = match[2] as string;
  if (authority === '' || authority.charCodeAt(0) === 58 /* : */ || !isValidHost(authority)) return undefined;
  const rest = match[3] as string;
  return {
    https: (match[1] as string).length === 5,
    authority,
    path: rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`,
  };
}

/** Host values equal ignoring case and the scheme's default port (`h`, `h:` and `h:80` for http). */
function sameAuthority(authority: string, host: string, https: boolean): boolean {
  return withoutDefaultPort(authority, https) === withoutDefaultPort(host, https);
}

function withoutDefaultPort(hostPort: string, https: boolean): string {
  const lower = hostPort.toLowerCase();
  const colon = lower.lastIndexOf(':');
  if (colon === -1 || lower.indexOf(']', colon) !== -1) return lower; // no port (or inside an IPv6 literal)
  const port = lower.slice(colon + 1);
  return port === '' || port === (https ? '443' : '80') ? lower.slice(0, colon) : lower;
}

/**
 * The origin-form target to send upstream (`/path?query`): the request target itself when it is in
 * origin form; the path and query of an absolute-form target (`http://host/path`, RFC 9112 3.2.2), as
 * sent (no normalization); `undefined` for anything else (asterisk-form, authority-form, garbage).
 */
export function originFormTarget(url: string): string | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  return absoluteForm(url)?.path;
}

/** What a request-line error found by Node's parser is answered with (see {@link parserErrorStatus}). */
export type RequestLineError = 'BAD_REQUEST' | 'NOT_IMPLEMENTED' | 'HTTP_VERSION_NOT_SUPPORTED';

/**
 * Node's parser reports a bad method and a bad version without telling a well-formed but unsupported
 * one (`FOO / HTTP/1.1`, `GET / HTTP/1.2`) from a malformed request line (`G@T /`, `GET / HTTP/1.1x`,
 * `GET / HTTP/1.1 `, a bare LF): this looks at the line in the bytes the parser was given (`raw`, the
 * error at `offset`). A syntactically valid method it does not know is a 501 (RFC 9110 9.1), a
 * syntactically valid `HTTP/d.d` other than 1.0/1.1 a 505 (RFC 9110 15.6.6), anything else a 400
 * (RFC 9112 3); 400 too when the line is not all in `raw`.
 */
export function requestLineError(
  kind: 'method' | 'version',
  raw: Buffer | undefined,
  offset: number | undefined,
): RequestLineError {
  if (raw === undefined || offset === undefined || offset < 0) return 'BAD_REQUEST';
  const at = Math.min(offset, raw.length);
  let start = at > 0 ? raw.lastIndexOf(10 /* LF */, raw[at] === 10 ? at - 1 : at) : -1;
  start = start === -1 ? 0 : start + 1;
  const lf = raw.indexOf(10, start);
  if (kind === 'method') {
    let i = start;
    while (i < raw.length && isTchar(raw[i] as number)) i++;
    return i > start && raw[i] === 32 /* SP */ ? 'NOT_IMPLEMENTED' : 'BAD_REQUEST';
  }
  if (lf === -1 || raw[lf - 1] !== 13 /* CR */) return 'BAD_REQUEST';
  const parts = raw.toString('latin1', start, lf - 1).split(' ');
  return parts.length === 3 && parts[0] !== '' && parts[1] !== '' && /^HTTP\/\d\.\d$/.test(parts[2] as string)
    ? 'HTTP_VERSION_NOT_SUPPORTED'
    : 'BAD_REQUEST';
}

/** RFC 9110 5.6.2 tchar. */
function isTchar(c: number): boolean {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  return c < 128 && "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) !== -1;
}
