// How a request's error is read: whether the upstream is to blame, and whether the request provably
// never reached it.

/** Connection errors: the socket to the upstream never opened. */
const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** System calls whose failure means no connection was made. */
const CONNECT_SYSCALLS: ReadonlySet<string> = new Set(['connect', 'getaddrinfo']);

/** Errors that are the upstream's doing once a connection exists: resets, timeouts, bad answers. */
const EXCHANGE_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The `code` of an error, or `undefined`. */
export function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A short description of an error for events and `status()`: its code, else its message. */
export function errorText(err: unknown): string {
  const code = errorCode(err);
  if (code !== undefined && code !== '') return code;
  if (err !== null && typeof err === 'object') {
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') return message;
  }
  return String(err);
}

/**
 * Whether a request body is a stream that broke on the client's side (errored, or destroyed before its
 * end): an error then is the client's, not the upstream's.
 */
export function bodyBroken(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const stream = body as { errored?: unknown; destroyed?: unknown; readableEnded?: unknown; on?: unknown };
  if (typeof stream.on !== 'function') return false;
  return (
    (stream.errored !== null && stream.errored !== undefined) ||
    (stream.destroyed === true && stream.readableEnded !== true)
  );
}

/**
 * Whether `err`, seen before the request was handed to a connection, says that no connection to the
 * upstream could be made.
 */
export function isConnectFailure(err: unknown, body: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined) return false;
  if (!CONNECT_CODES.has(code)) {
    const syscall = (err as { syscall?: unknown }).syscall;
    if (typeof syscall !== 'string' || !CONNECT_SYSCALLS.has(syscall)) return false;
  }
  return !bodyBroken(body);
}

/** Whether `err` is a failure of the exchange that outlier detection counts against the upstream. */
export function isUpstreamFailure(err: unknown, body: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined) return false;
  if (!CONNECT_CODES.has(code) && !EXCHANGE_CODES.has(code) && !code.startsWith('HPE_')) return false;
  return !bodyBroken(body);
}
