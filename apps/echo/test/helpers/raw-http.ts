import { connect, type Socket } from 'node:net';

/** One HTTP response as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
  /** The head (status line and headers) as text. */
  head: string;
}

export interface ReadOptions {
  /** The request was HEAD: the response has no body whatever its Content-Length says. */
  head?: boolean;
  timeoutMs?: number;
}

/**
 * A client on a raw TCP socket, for what an HTTP client library would hide or refuse to do: chunked bodies
 * written piece by piece, a Content-Length that is never honoured, several requests on one connection, bytes
 * that are not HTTP at all.
 */
export class RawClient {
  readonly socket: Socket;
  /** The server has ended its side (FIN), or the socket has closed. */
  ended = false;
  closed = false;
  error: Error | undefined;
  #buffer = Buffer.alloc(0);
  #wake: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#notify();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
      this.#notify();
    });
  }

  /** @param allowHalfOpen keep the writing side open after the server's FIN (to keep sending regardless). */
  static connect(port: number, allowHalfOpen = false): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes bytes; resolves when they are handed to the OS (or at once if the socket is gone). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        this.error ??= new Error('socket not writable');
        return resolve();
      }
      this.socket.write(data, () => resolve());
    });
  }

  /** Bytes received and not yet consumed by {@link readResponse}. */
  get pending(): Buffer {
    return this.#buffer;
  }

  /** Waits for one complete response (an interim `100 Continue` counts as one) and consumes it. */
  async readResponse(options: ReadOptions = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = tryParse(this.#buffer, options.head === true, this.ended);
      if (parsed) {
        this.#buffer = this.#buffer.subarray(parsed.length);
        return parsed.response;
      }
      if (this.ended) {
        throw new Error(
          `connection ended before a complete response; got ${JSON.stringify(this.#buffer.toString('latin1'))}`,
        );
      }
      await this.#waitForChange(deadline);
    }
  }

  /** Waits until the server has closed the connection. */
  async waitEnded(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.#waitForChange(deadline);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #waitForChange(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - Date.now();
      const timer = setTimeout(
        () => {
          reject(
            new Error(`timed out; buffered ${JSON.stringify(this.#buffer.toString('latin1').slice(0, 500))}`),
          );
        },
        Math.max(0, remaining),
      );
      this.#wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const fn of wake) fn();
  }
}

function tryParse(
  buffer: Buffer,
  head: boolean,
  ended: boolean,
): { response: RawResponse; length: number } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const headText = buffer.subarray(0, end).toString('latin1');
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(headText)}`);
  const status = Number(match[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const bodyStart = end + 4;
  let bodyLength: number;
  if (head || (status >= 100 && status < 200) || status === 204 || status === 304) bodyLength = 0;
  else if (headers['content-length'] !== undefined) bodyLength = Number(headers['content-length']);
  else if (ended) bodyLength = buffer.length - bodyStart;
  else return undefined;
  if (buffer.length < bodyStart + bodyLength) return undefined;
  return {
    response: {
      status,
      headers,
      head: headText,
      body: Buffer.from(buffer.subarray(bodyStart, bodyStart + bodyLength)),
    },
    length: bodyStart + bodyLength,
  };
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
