// HTTP/1.1 on a raw TCP socket, for what an HTTP client library would hide or refuse to do: exact bytes
// (malformed, pipelined, dripped), a response parsed as it came off the wire, a connection watched until
// the server closes it. One parser (parseHead, decodeChunked, parseResponse) and one client (RawClient).
import { connect, type Socket } from 'node:net';

/** The head of a response: status line and header lines. */
export interface ResponseHead {
  readonly status: number;
  readonly statusLine: string;
  /** The head (status line and header lines, without the blank line) as latin1 text. */
  readonly head: string;
  /** Header lines as `[lower-cased name, trimmed value]`, in order. */
  readonly headerList: ReadonlyArray<readonly [string, string]>;
  /** Offset of the first body byte in the data. */
  readonly bodyStart: number;
}

/** One HTTP/1.1 response as it came off the wire. */
export interface RawResponse {
  readonly status: number;
  readonly statusLine: string;
  readonly head: string;
  readonly headerList: ReadonlyArray<readonly [string, string]>;
  /** Header names lower-cased; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  /** The body bytes (decoded when chunked). */
  readonly body: Buffer;
}

export interface ParseOptions {
  /** The request was HEAD: the response has no body whatever its Content-Length says. */
  readonly head?: boolean;
  /**
   * A response with neither Content-Length nor chunked framing has a body that ends with the connection
   * (default). `false`: take it as empty.
   */
  readonly closeDelimited?: boolean;
  /** The connection has ended: a close-delimited body is complete. */
  readonly ended?: boolean;
}

/** Parses the response head at `from`; undefined until the blank line has arrived. Status NaN if not HTTP. */
export function parseHead(data: Buffer, from = 0): ResponseHead | undefined {
  const end = data.indexOf('\r\n\r\n', from);
  if (end === -1) return undefined;
  const head = data.toString('latin1', from, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headerList = lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
  });
  return { status, statusLine, head, headerList, bodyStart: end + 4 };
}

/** Decodes a chunked body starting at `from` (trailers skipped); undefined while it is incomplete. */
export function decodeChunked(data: Buffer, from: number): { body: Buffer; end: number } | undefined {
  let at = from;
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.toString('latin1', at, lineEnd).split(';')[0] as string, 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at ${at}`);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer lines, if any, up to the empty line that ends the body.
      for (;;) {
        const end = data.indexOf('\r\n', at);
        if (end === -1) return undefined;
        if (end === at) return { body: Buffer.concat(parts), end: end + 2 };
        at = end + 2;
      }
    }
    if (data.length < at + size + 2) return undefined;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}

/** Header values joined with `, ` by lower-cased name. */
export function headerRecord(list: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of list)
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  return headers;
}

/** Parses one complete response at `from`; undefined while it is incomplete. */
export function parseResponse(
  data: Buffer,
  from = 0,
  options: ParseOptions = {},
): { response: RawResponse; end: number } | undefined {
  const parsed = parseHead(data, from);
  if (parsed === undefined) return undefined;
  const { status, bodyStart, headerList } = parsed;
  const headers = headerRecord(headerList);
  const response = (body: Buffer, end: number): { response: RawResponse; end: number } => ({
    response: { status, statusLine: parsed.statusLine, head: parsed.head, headerList, headers, body },
    end,
  });
  if (options.head === true || (status >= 100 && status < 200) || status === 204 || status === 304)
    return response(Buffer.alloc(0), bodyStart);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const decoded = decodeChunked(data, bodyStart);
    return decoded && response(decoded.body, decoded.end);
  }
  let length: number;
  if (headers['content-length'] !== undefined) length = Number(headers['content-length']);
  else if (options.closeDelimited === false) length = 0;
  else if (options.ended === true) length = data.length - bodyStart;
  else return undefined;
  if (data.length < bodyStart + length) return undefined;
  return response(Buffer.from(data.subarray(bodyStart, bodyStart + length)), bodyStart + length);
}

/** Every complete response at the start of `data` (pipelined ones included), and the bytes they took. */
export function parseResponses(
  data: Buffer,
  options: ParseOptions = {},
): { responses: RawResponse[]; used: number } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const parsed = parseResponse(data, at, options);
    if (parsed === undefined) return { responses, used: at };
    responses.push(parsed.response);
    at = parsed.end;
  }
}

export interface ConnectOptions {
  readonly host?: string;
  /** Keep the writing side open after the server's FIN (to keep sending regardless). */
  readonly allowHalfOpen?: boolean;
  readonly noDelay?: boolean;
}

/** A client connection on a raw TCP socket. */
export class RawClient {
  readonly socket: Socket;
  /** The server has ended its side (FIN), or the socket has closed. */
  ended = false;
  /** The socket has closed. */
  closed = false;
  error: Error | undefined;
  #received: Buffer[] = [];
  #buffer = Buffer.alloc(0);
  #wake: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received.push(chunk);
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

  /** Connects to `port` on 127.0.0.1 (or `options.host`); rejects when the connection fails. */
  static connect(port: number, options: ConnectOptions | boolean = {}): Promise<RawClient> {
    const {
      host = '127.0.0.1',
      allowHalfOpen = false,
      noDelay = false,
    } = typeof options === 'boolean' ? { allowHalfOpen: options } : options;
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, allowHalfOpen, noDelay });
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

  /** Every byte received so far, consumed by {@link readResponse} or not. */
  received(): Buffer {
    return Buffer.concat(this.#received);
  }

  /** Bytes received and not yet consumed by {@link readResponse}. */
  get pending(): Buffer {
    return this.#buffer;
  }

  /** Waits for one complete response (an interim `100 Continue` counts as one) and consumes it. */
  async readResponse(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = parseResponse(this.#buffer, 0, { head: options.head === true, ended: this.ended });
      if (parsed) {
        if (Number.isNaN(parsed.response.status))
          throw new Error(`not an HTTP response: ${JSON.stringify(parsed.response.head)}`);
        this.#buffer = this.#buffer.subarray(parsed.end);
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

  /** Waits until the server has ended the connection; rejects after `timeoutMs`. */
  async waitEnded(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.#waitForChange(deadline);
  }

  /** Resolves with the first defined value of `check`, run now and on every change; undefined after `timeoutMs`. */
  async waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      try {
        await this.#waitForChange(deadline);
      } catch {
        return check();
      }
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  #waitForChange(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          reject(
            new Error(`timed out; buffered ${JSON.stringify(this.#buffer.toString('latin1').slice(0, 500))}`),
          );
        },
        Math.max(0, deadline - Date.now()),
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

/**
 * Writes `bytes` on a new connection to 127.0.0.1:`port` and collects everything until the server closes
 * it (a reset counts as closed) or `timeoutMs` passes; the data as latin1 text.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  timeoutMs = 10_000,
): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: false });
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET')
        resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: true });
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer: true });
    });
    socket.write(bytes);
  });
}
