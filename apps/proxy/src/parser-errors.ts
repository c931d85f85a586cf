// How the HTTP parser's errors on a client connection map to 400 / 408 / 431 / 501 / 505 (for the proxy
// and the admin listener alike); part of errors.ts, which re-exports it.
import { errorCode, type ProxyErrorCode } from './errors.js';

/** Maps a Node.js HTTP parser error to the answer (RFC 9112: 400 malformed, 431, 501, 505, 408). */
export function parserErrorCode(err: unknown): ProxyErrorCode {
  switch (errorCode(err)) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'HPE_INVALID_VERSION':
      return requestLineError('version', rawPacketOf(err), bytesParsedOf(err));
    case 'HPE_INVALID_METHOD':
      return requestLineError('method', rawPacketOf(err), bytesParsedOf(err));
    default:
      return 'BAD_REQUEST';
  }
}

/** The bytes the parser was given when it failed (Node's `clientError` errors carry them). */
function rawPacketOf(err: unknown): Buffer | undefined {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  return Buffer.isBuffer(raw) ? raw : undefined;
}

/** Where in {@link rawPacketOf} the parser failed. */
function bytesParsedOf(err: unknown): number | undefined {
  const n = (err as { bytesParsed?: unknown }).bytesParsed;
  return typeof n === 'number' ? n : undefined;
}

/** What a request-line error found by Node's parser is answered with (see {@link parserErrorCode}). */
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
