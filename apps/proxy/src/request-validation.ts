// Requests the proxy refuses to forward (RFC 9112 / RFC 9110): anything whose framing or target is in
// doubt is answered here and never reaches an upstream. Node's HTTP parser rejects most malformed
// requests before they get here (they are answered in proxy-server.ts' clientError handler); these are
// the checks it leaves to us.
import type { IncomingMessage } from 'node:http';
import type { ProxyErrorCode } from './errors.js';
import type { RequestFacts } from './header-rules.js';

const DIGITS = /^\d{1,15}$/;

/** The error to answer with, or `undefined` when the request may be forwarded. */
export function validateRequest(req: IncomingMessage, facts: RequestFacts): ProxyErrorCode | undefined {
  if (req.httpVersionMajor !== 1) return 'HTTP_VERSION_NOT_SUPPORTED';
  // A proxy that is not a tunnel does not implement CONNECT (RFC 9110 9.3.6).
  if (req.method === 'CONNECT') return 'NOT_IMPLEMENTED';
  // RFC 9112 3.2: more than one Host, or none on HTTP/1.1, is a 400.
  if (facts.hostCount > 1 || (facts.hostCount === 0 && req.httpVersionMinor >= 1)) return 'BAD_REQUEST';
  if (facts.contentLengthCount > 1 || (facts.contentLength !== '' && !DIGITS.test(facts.contentLength))) return 'BAD_REQUEST';
  if (facts.transferEncoding !== '') {
    // RFC 9112 6.1: Content-Length with Transfer-Encoding is a smuggling attempt; only chunked is
    // understood, as the final (and here only) coding; HTTP/1.0 has no chunked coding.
    if (facts.contentLength !== '') return 'BAD_REQUEST';
    if (req.httpVersionMinor === 0) return 'BAD_REQUEST';
    if (facts.transferEncoding.trim().toLowerCase() !== 'chunked') return 'NOT_IMPLEMENTED';
  }
  return undefined;
}

/**
 * The origin-form target to send upstream (`/path?query`): the request target itself when it is in
 * origin form; the path and query of an absolute-form target (`http://host/path`, RFC 9112 3.2.2);
 * `undefined` for anything else (asterisk-form, authority-form, garbage).
 */
export function originFormTarget(url: string): string | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return undefined;
  }
}
