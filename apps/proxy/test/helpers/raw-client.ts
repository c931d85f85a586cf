// Raw-socket helpers for the black-box suites: a client that writes exact bytes and parses the responses
// it gets back (several, when pipelining), and an upstream that parses every request it receives
// (Content-Length or chunked, several per connection), records its exact bytes, and answers each with
// `<METHOD> <target>` as the body.
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { expect } from 'vitest';

/** One HTTP/1.1 response as parsed off the wire. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
  header(name: string): string | undefined;
}

/**
 * Parses the complete responses at the start of `data` (Content-Length, chunked, or none for 1xx/204/304
 * and HEAD); returns them and how many bytes they took.
 */
export function parseResponses(data: Buffer): { responses: RawResponse[]; used: number } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = data.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
    const headers = lines.slice(1).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    });
    const get = (name: string): string | undefined => headers.find(([n]) => n === name)?.[1];
    let bodyStart = end + 4;
    let body: string;
    if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const decoded = decodeChunked(data, bodyStart);
      if (decoded === undefined) break;
      body = decoded.body;
      bodyStart = decoded.end;
    } else {
      const length =
        status < 200 || status === 204 || status === 304 ? 0 : Number(get('content-length') ?? 0);
      if (data.length < bodyStart + length) break;
      body = data.toString('latin1', bodyStart, bodyStart + length);
      bodyStart += length;
    }
    responses.push({ status, headers, body, header: get });
    at = bodyStart;
  }
  return { responses, used: at };
}

/** Decodes a chunked body starting at `from`; `undefined` while it is incomplete. */
export function decodeChunked(data: Buffer, from: number): { body: string; end: number } | undefined {
  let at = from;
  let body = '';
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.toString('latin1', at, lineEnd).split(';')[0] as string, 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at ${at}`);
    at = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n', at);
      if (trailerEnd === -1) return undefined;
      // no trailers expected: the empty line ends the body
      return { body, end: trailerEnd + 2 };
    }
    if (data.length < at + size + 2) return undefined;
    body += data.toString('latin1', at, at + size);
    at += size + 2;
  }
}

/** A raw client connection to the proxy. */
export interface RawClient {
  readonly socket: Socket;
  write(bytes: string | Buffer): Promise<void>;
  /** Every byte received so far. */
  data(): Buffer;
  /** The complete responses received so far. */
  responses(): RawResponse[];
  /** Resolves with the responses once `count` are complete (rejects after `timeoutMs`). */
  waitForResponses(count: number, timeoutMs?: number): Promise<RawResponse[]>;
  /** Resolves true once the server has closed the connection, false if it is still open after `timeoutMs`. */
  waitForClose(timeoutMs?: number): Promise<boolean>;
  readonly closed: boolean;
  destroy(): void;
}

export async function openClient(port: number): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const chunks: Buffer[] = [];
  let closed = false;
  const wakers = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...wakers]) w();
  };
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const data = (): Buffer => Buffer.concat(chunks);
  const until = <T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => T | Error): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        wakers.delete(tick);
        fn();
      };
      const tick = (): void => {
        const value = check();
        if (value !== undefined) done(() => resolve(value));
      };
      const timer = setTimeout(() => {
        const value = onTimeout();
        done(() => (value instanceof Error ? reject(value) : resolve(value)));
      }, timeoutMs);
      wakers.add(tick);
      tick();
    });
  return {
    socket,
    write: (bytes) => new Promise<void>((resolve) => socket.write(bytes, () => resolve())),
    data,
    responses: () => parseResponses(data()).responses,
    waitForResponses: (count, timeoutMs = 5000) =>
      until(
        () => {
          const { responses } = parseResponses(data());
          if (responses.length >= count) return responses;
          return closed ? responses : undefined;
        },
        timeoutMs,
        () =>
          new Error(
            `timed out waiting for ${count} responses; got ${JSON.stringify(data().toString('latin1'))}`,
          ),
      ),
    waitForClose: (timeoutMs = 5000) =>
      until(
        () => (closed ? true : undefined),
        timeoutMs,
        () => false,
      ),
    get closed() {
      return closed;
    },
    destroy: () => socket.destroy(),
  };
}

/**
 * Writes `bytes` on a new connection; resolves with the responses, once `responses` are complete and
 * (when `expectClose`, the default for a refused request) once the proxy closed the connection.
 */
export async function exchange(
  port: number,
  bytes: string | Buffer,
  options: { responses?: number; expectClose?: boolean; timeoutMs?: number } = {},
): Promise<{ responses: RawResponse[]; closed: boolean; raw: string }> {
  const client = await openClient(port);
  try {
    await client.write(bytes);
    const responses = await client.waitForResponses(options.responses ?? 1, options.timeoutMs ?? 5000);
    // A refused request closes at once; an accepted one stays open (give a close a moment to show).
    const closed = await client.waitForClose(
      options.expectClose === false ? 100 : (options.timeoutMs ?? 5000),
    );
    return { responses, closed, raw: client.data().toString('latin1') };
  } finally {
    client.destroy();
  }
}

/** One request as the upstream received it. */
export interface UpstreamRequest {
  /** The exact bytes of the request (head and body as framed on the wire). */
  readonly raw: string;
  readonly requestLine: string;
  /** Header lines exactly as received (`name: value`), in order. */
  readonly headerLines: readonly string[];
  /** The decoded body. */
  readonly body: string;
  /** Index of the upstream connection it came on. */
  readonly connection: number;
}

export interface RecordingUpstream {
  readonly port: number;
  readonly url: string;
  /** Complete requests received, in order of arrival. */
  readonly requests: UpstreamRequest[];
  /** Every byte received, all connections together (health probes included, if any). */
  totalBytes(): number;
  /** Per connection: whether the proxy closed it, and the bytes received on it. */
  readonly connections: ReadonlyArray<{ readonly closed: boolean; bytes(): Buffer }>;
  close(): Promise<void>;
}

/**
 * An upstream on 127.0.0.1:0 that parses each request (Content-Length or chunked body), records it and
 * answers `200` with the body `<METHOD> <target>` (keep-alive), after `delayMs` when given.
 */
export async function recordingUpstream(options: { delayMs?: number } = {}): Promise<RecordingUpstream> {
  const requests: UpstreamRequest[] = [];
  const connections: { closed: boolean; bytes(): Buffer }[] = [];
  const sockets = new Set<Socket>();
  let total = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    const index = connections.length;
    const all: Buffer[] = [];
    const conn = { closed: false, bytes: () => Buffer.concat(all) };
    connections.push(conn);
    let pending = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      conn.closed = true;
      sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      all.push(chunk);
      total += chunk.length;
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const lines = pending.toString('latin1', 0, end).split('\r\n');
        const headerLines = lines.slice(1);
        const value = (name: string): string | undefined =>
          headerLines
            .find((l) => l.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim();
        let body = '';
        let used = end + 4;
        if (value('transfer-encoding')?.toLowerCase() === 'chunked') {
          const decoded = decodeChunked(pending, used);
          if (decoded === undefined) return;
          body = decoded.body;
          used = decoded.end;
        } else {
          const length = Number(value('content-length') ?? 0);
          if (pending.length < used + length) return;
          body = pending.toString('latin1', used, used + length);
          used += length;
        }
        const requestLine = lines[0] as string;
        requests.push({
          raw: pending.toString('latin1', 0, used),
          requestLine,
          headerLines,
          body,
          connection: index,
        });
        pending = pending.subarray(used);
        const answer = requestLine.split(' ').slice(0, 2).join(' ');
        const respond = (): void => {
          if (!socket.destroyed)
            socket.write(
              `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(answer, 'latin1')}\r\n\r\n${answer}`,
            );
        };
        if (options.delayMs) setTimeout(respond, options.delayMs);
        else respond();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    totalBytes: () => total,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Checks a body the proxy generated: exactly `{"error":{"code","message"}}` with the given code, and
 * nothing internal (no stack frame, no file path, no error class name).
 */
export function expectCleanErrorBody(body: string, code: string): void {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  expect(parsed).toEqual({ error: { code, message: expect.any(String) } });
  expect(Object.keys(parsed.error)).toEqual(['code', 'message']);
  expect(parsed.error.message.length).toBeGreaterThan(0);
  expect(body).not.toMatch(/\bat |\/|\\|node:|Error\b|\.[jt]s\b|HPE_|ERR_|UND_/);
}

/** The header lines the proxy adds to every forwarded request from 127.0.0.1 (with `x-request-id: id`). */
export function forwardedHeaderLines(host: string, id: string, xff = '127.0.0.1'): string[] {
  return [
    `x-forwarded-for: ${xff}`,
    'x-forwarded-proto: http',
    ...(host === '' ? [] : [`x-forwarded-host: ${host}`]),
    host === ''
      ? 'forwarded: for=127.0.0.1;proto=http'
      : `forwarded: for=127.0.0.1;host="${host}";proto=http`,
    'via: 1.1 roundguard',
    `x-request-id: ${id}`,
  ];
}
