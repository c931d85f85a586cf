import { STATUS_CODES } from 'node:http';

/**
 * Every error the echo server answers with, mapped to its HTTP status. The code is the stable part of the
 * JSON error body `{"error":{"code":"...","message":"..."}}`: clients match on it, the message is for humans.
 */
export const ERROR_STATUS = {
  /** The body is not valid UTF-8 JSON. */
  INVALID_JSON: 400,
  /** A POST without a body (no bytes at all). */
  EMPTY_BODY: 400,
  /** The request could not be parsed as HTTP (answered on the raw socket, which is then closed). */
  BAD_REQUEST: 400,
  /** The client did not send the whole request within `--request-timeout`. */
  REQUEST_TIMEOUT: 408,
  /** Any method but POST (and GET/HEAD on /health, /ready, /metrics). Comes with an `Allow` header. */
  METHOD_NOT_ALLOWED: 405,
  /** An `Expect` header other than `100-continue`. */
  EXPECTATION_FAILED: 417,
  /** The body is longer than `--max-body`. */
  PAYLOAD_TOO_LARGE: 413,
  /** The `Content-Type` is missing or is not `application/json` / `application/*+json`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The request headers are larger than Node's `--max-http-header-size` (16 KiB by default). */
  HEADERS_TOO_LARGE: 431,
} as const satisfies Record<string, number>;

export type EchoErrorCode = keyof typeof ERROR_STATUS;

/** The JSON error body, as bytes ready to write. */
export function errorBody(code: EchoErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { code, message } }));
}

/**
 * A complete HTTP/1.1 error response with `Connection: close`, for writing straight to a socket that has no
 * usable `ServerResponse` (a request Node could not parse, or that timed out before it was dispatched).
 */
export function rawErrorResponse(code: EchoErrorCode, message: string): Buffer {
  const status = ERROR_STATUS[code];
  const body = errorBody(code, message);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
