// The one place where failures become HTTP answers: every error code the proxy answers with, its status,
// how upstream failures (undici and socket errors) map to 502 / 504, to a metric reason, to an outcome
// and whether it was a connect failure (the dispatcher takes such an upstream out itself), and how the HTTP parser's errors on a client connection map to
// 400 / 408 / 431 / 501 / 505 (for the proxy and the admin listener alike), and the admin server's own
// answers (write API, dashboard).
import type { ServerResponse } from 'node:http';

/** Error codes in the proxy's JSON error bodies `{"error":{"code","message"}}`. */
export type ProxyErrorCode =
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'NO_HEALTHY_UPSTREAM'
  | 'BAD_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'NOT_IMPLEMENTED'
  | 'HTTP_VERSION_NOT_SUPPORTED'
  | 'EXPECTATION_FAILED'
  | 'SHUTTING_DOWN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  // The admin server's own answers (write API, dashboard, metrics):
  | 'ADMIN_READ_ONLY'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_UPSTREAM'
  | 'INVALID_CHANGE'
  | 'UPSTREAM_EXISTS'
  | 'UPSTREAM_DISCOVERED'
  | 'UNKNOWN_UPSTREAM'
  | 'TOO_MANY_EVENT_STREAMS'
  | 'STATUS_UNAVAILABLE'
  | 'METRICS_COLLECTION_FAILED';

export const STATUS: Readonly<Record<ProxyErrorCode, number>> = {
  UPSTREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  NO_HEALTHY_UPSTREAM: 503,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  NOT_IMPLEMENTED: 501,
  HTTP_VERSION_NOT_SUPPORTED: 505,
  EXPECTATION_FAILED: 417,
  SHUTTING_DOWN: 503,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ADMIN_READ_ONLY: 403,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_UPSTREAM: 400,
  INVALID_CHANGE: 400,
  UPSTREAM_EXISTS: 409,
  UPSTREAM_DISCOVERED: 409,
  UNKNOWN_UPSTREAM: 404,
  TOO_MANY_EVENT_STREAMS: 503,
  STATUS_UNAVAILABLE: 500,
  METRICS_COLLECTION_FAILED: 500,
};

const MESSAGES: Readonly<Record<ProxyErrorCode, string>> = {
  UPSTREAM_ERROR: 'the upstream server failed to answer',
  UPSTREAM_TIMEOUT: 'the upstream server did not answer in time',
  NO_HEALTHY_UPSTREAM: 'no healthy upstream server is available',
  BAD_REQUEST: 'the request is malformed',
  REQUEST_TIMEOUT: 'the request was not received in time',
  HEADERS_TOO_LARGE: 'the request headers are too large',
  NOT_IMPLEMENTED: 'the request method or feature is not supported',
  HTTP_VERSION_NOT_SUPPORTED: 'the HTTP version is not supported',
  EXPECTATION_FAILED: 'the expectation in the Expect header cannot be met',
  SHUTTING_DOWN: 'the server is shutting down',
  NOT_FOUND: 'not found',
  METHOD_NOT_ALLOWED: 'method not allowed',
  ADMIN_READ_ONLY: 'the admin API is read-only: start the proxy with --admin-token to enable changes',
  UNAUTHORIZED: 'a valid bearer token is required',
  UNSUPPORTED_MEDIA_TYPE: 'expected Content-Type: application/json',
  PAYLOAD_TOO_LARGE: 'the request body is too large',
  INVALID_UPSTREAM: 'the upstream is invalid',
  INVALID_CHANGE: 'the change is invalid',
  UPSTREAM_EXISTS: 'an upstream with this name or URL exists',
  UPSTREAM_DISCOVERED: 'a discovered upstream cannot be removed: change DNS or the config file',
  UNKNOWN_UPSTREAM: 'no upstream has this name',
  TOO_MANY_EVENT_STREAMS: 'too many event streams are open',
  STATUS_UNAVAILABLE: 'the upstream status could not be read',
  METRICS_COLLECTION_FAILED: 'metrics could not be collected',
};

/** JSON error body for a code, with the default message; built once per code. */
const BODIES = new Map<ProxyErrorCode, Buffer>(
  (Object.keys(MESSAGES) as ProxyErrorCode[]).map((code) => [code, errorBody(code, MESSAGES[code])]),
);

/** The default message of a code. */
export function defaultMessage(code: ProxyErrorCode): string {
  return MESSAGES[code];
}

export function errorBody(code: ProxyErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { code, message } }));
}

/** Length in bytes of the JSON error body answered for `code` (the access log's `bytes_out`). */
export function errorBodyLength(code: ProxyErrorCode): number {
  return (BODIES.get(code) as Buffer).length;
}

/** Writes a complete JSON error response (no stack, no internal detail); returns the body's length. */
export function sendError(
  res: ServerResponse,
  code: ProxyErrorCode,
  headers: readonly string[] = [],
  close = false,
): number {
  const body = BODIES.get(code) as Buffer;
  const out = ['content-type', 'application/json', 'content-length', String(body.length), ...headers];
  if (close) out.push('connection', 'close');
  res.writeHead(STATUS[code], out);
  res.end(body);
  return body.length;
}

/**
 * Writes a complete JSON error response with its own message (the admin API says what was wrong with
 * the input); `headers` is a flat `[name, value, ...]` list of more headers. Returns the body's length.
 */
export function sendErrorMessage(
  res: ServerResponse,
  code: ProxyErrorCode,
  message: string,
  headers: readonly string[] = [],
): number {
  const body = errorBody(code, message);
  res.writeHead(STATUS[code], [
    'content-type',
    'application/json',
    'content-length',
    String(body.length),
    'cache-control',
    'no-store',
    ...headers,
  ]);
  res.end(body);
  return body.length;
}

/**
 * A raw HTTP/1.1 error response for a socket that has no request object (parser errors, timeouts,
 * CONNECT); `extra` is a flat `[name, value, ...]` list of more headers.
 */
export function rawErrorResponse(code: ProxyErrorCode, extra: readonly string[] = []): string {
  const body = BODIES.get(code) as Buffer;
  let more = '';
  for (let i = 0; i + 1 < extra.length; i += 2) more += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return (
    `HTTP/1.1 ${STATUS[code]} ${REASONS[STATUS[code]] ?? 'Error'}\r\n` +
    `content-type: application/json\r\ncontent-length: ${body.length}\r\n${more}connection: close\r\nvia: 1.1 roundguard\r\n\r\n` +
    body.toString('latin1')
  );
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/** Raised into undici to abort the upstream request when the client goes away. */
export class ClientAbortError extends Error {
  readonly code = 'CLIENT_ABORT';
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientAbortError';
  }
}

/** Raised into undici when the upstream's response head cannot be forwarded (e.g. an invalid header). */
export class InvalidUpstreamResponseError extends Error {
  readonly code = 'INVALID_RESPONSE';
  constructor(cause: unknown) {
    super('the upstream response cannot be forwarded', { cause });
    this.name = 'InvalidUpstreamResponseError';
  }
}

/** The `code` of the dispatcher's error when no upstream can take a request (answered 503). */
export const NO_HEALTHY_UPSTREAM_ERROR = 'ERR_NO_HEALTHY_UPSTREAM';

/** How one upstream failure is answered and accounted. */
export interface UpstreamFailure {
  /** The answer when no response byte was sent yet. */
  readonly code: 'UPSTREAM_ERROR' | 'UPSTREAM_TIMEOUT';
  readonly status: 502 | 504;
  readonly outcome: 'upstream_error' | 'timeout';
  /** The `reason` label of `roundguard_upstream_errors_total` (an error code, bounded). */
  readonly reason: string;
  /** The upstream could not be reached at all (the dispatcher takes it out of rotation). */
  readonly connectFailure: boolean;
}

/** Error codes meaning "the upstream could not be connected to". */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const failures = new Map<string, UpstreamFailure>();

/**
 * The reason given to an upstream response that does not parse as HTTP/1.1: undici 7's HTTPParserError
 * is meant to carry `HPE_<llhttp error>` but its lookup table is inverted, so its `code` is undefined.
 */
export const INVALID_RESPONSE_REASON = 'HPE_INVALID_RESPONSE';

/**
 * The code of an error: its `code` when it is a sane string, `HPE_INVALID_RESPONSE` for undici's
 * code-less HTTPParserError (a malformed upstream response), else `'UNKNOWN'`.
 */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
  return (err as { name?: unknown } | null)?.name === 'HTTPParserError' ? INVALID_RESPONSE_REASON : 'UNKNOWN';
}

/**
 * Maps an upstream failure (an undici or socket error) to its answer: 504 `UPSTREAM_TIMEOUT` when the
 * upstream was too slow (headers or body timeout), else 502 `UPSTREAM_ERROR` (refused, reset, connect
 * timeout, invalid response, ...).
 */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const reason = errorCode(err);
  let failure = failures.get(reason);
  if (failure === undefined) {
    failure = TIMEOUTS.has(reason)
      ? { code: 'UPSTREAM_TIMEOUT', status: 504, outcome: 'timeout', reason, connectFailure: false }
      : {
          code: 'UPSTREAM_ERROR',
          status: 502,
          outcome: 'upstream_error',
          reason,
          connectFailure: CONNECT_FAILURES.has(reason),
        };
    if (failures.size < 256) failures.set(reason, failure);
  }
  return failure;
}

export { parserErrorCode, requestLineError, type RequestLineError } from './parser-errors.js';
