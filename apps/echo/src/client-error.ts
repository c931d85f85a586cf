// What the echo server answers to a `clientError` of Node's HTTP parser or request timer.
import type { EchoErrorCode } from './errors.js';

const MESSAGES: Partial<Record<EchoErrorCode, string>> = {
  REQUEST_TIMEOUT: 'the request was not received in time',
  HEADERS_TOO_LARGE: 'the request headers are too large',
  PAYLOAD_TOO_LARGE: 'the request chunk extensions are too large',
  BAD_REQUEST: 'the request is not valid HTTP/1.1',
};

/** Which error, if any, a `clientError` is answered with. */
export function clientErrorCode(code: string | undefined): EchoErrorCode | undefined {
  // The client closed its side in the middle of a request: it has gone away, like a reset.
  if (code === 'HPE_INVALID_EOF_STATE') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'PAYLOAD_TOO_LARGE';
  if (code?.startsWith('HPE_')) return 'BAD_REQUEST';
  return undefined; // a network error (ECONNRESET, EPIPE...): nobody left to answer
}

/** The message of the error answered for {@link clientErrorCode}'s code. */
export function clientErrorMessage(code: EchoErrorCode): string {
  return MESSAGES[code] as string;
}
