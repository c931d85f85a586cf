import type { ServerResponse } from 'node:http';

/** The JSON error body the libraries and apps answer with: `{"error":{"code":"...","message":"..."}}`. */
export function jsonErrorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * Answers `res` with `status` and a {@link jsonErrorBody}, with `Content-Length` and `Cache-Control:
 * no-store`. When the head is already sent (or the response destroyed), it only ends the response: a
 * second head cannot be written.
 */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): void {
  if (res.destroyed || res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = jsonErrorBody(code, message);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
