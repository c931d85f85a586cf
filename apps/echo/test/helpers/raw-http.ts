// Raw HTTP/1.1 for the echo tests: requests built byte by byte, sent on @roundguard/testkit's raw client,
// whose responses come parsed off the wire.
import { RawClient, type RawResponse } from '@roundguard/testkit';

export { RawClient, type RawResponse } from '@roundguard/testkit';

export interface ReadOptions {
  /** The request was HEAD: the response has no body whatever its Content-Length says. */
  head?: boolean;
  timeoutMs?: number;
}

export interface RequestSpec {
  method?: string;
  path?: string;
  /** Header values; `null` leaves out a header the builder would add (`host`, `content-length`). */
  headers?: Record<string, string | null>;
  body?: string | Buffer;
}

/** Builds a request's bytes. Adds `Host` and, when there is a body, `Content-Length`, unless given or `null`. */
export function buildRequest(spec: RequestSpec): Buffer {
  const { method = 'POST', path = '/', body } = spec;
  const headers: Record<string, string | null> = { host: '127.0.0.1', ...spec.headers };
  const lower = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  if (body !== undefined && !lower.has('content-length') && !lower.has('transfer-encoding')) {
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== null) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  return body === undefined
    ? Buffer.from(head, 'latin1')
    : Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

/** A JSON POST request (Content-Type application/json unless overridden). */
export function postJson(
  body: string | Buffer,
  headers: Record<string, string | null> = {},
  path = '/',
): Buffer {
  return buildRequest({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

/** Encodes pieces as a chunked body, terminating chunk included. */
export function chunked(...pieces: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const piece of pieces) {
    const bytes = Buffer.from(piece);
    if (bytes.length === 0) continue;
    parts.push(Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** One request on a new connection: writes it, reads one response, closes. */
export async function exchange(
  port: number,
  request: Buffer | string,
  options: ReadOptions = {},
): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    await client.write(request);
    return await client.readResponse(options);
  } finally {
    client.destroy();
  }
}

/** The parsed JSON body of a response. */
export function json(response: RawResponse): unknown {
  return JSON.parse(response.body.toString('utf8'));
}

/** A JSON string literal whose encoding is exactly `size` bytes (`size` >= 2). */
export function jsonOfSize(size: number): string {
  return `"${'a'.repeat(size - 2)}"`;
}
