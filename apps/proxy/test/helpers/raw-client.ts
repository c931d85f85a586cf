// Raw-socket helpers for the black-box suites: a client that writes exact bytes and parses the responses
// it gets back (several, when pipelining), and an upstream that parses every request it receives
// (Content-Length or chunked, several per connection), records its exact bytes, and answers each with
// `<METHOD> <target>` as the body. The parsing and the connection are @roundguard/testkit's.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import {
  decodeChunked as decodeChunkedBytes,
  parseResponses as parse,
  RawClient as Connection,
  type RawResponse as ParsedResponse,
} from '@roundguard/testkit';
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
 * Parses the complete responses at the start of `data` (Content-Length, chunked, or none for 1xx/204/304;
 * a response with neither is taken as bodiless); returns them and how many bytes they took.
 */
export function parseResponses(data: Buffer): { responses: RawResponse[]; used: number } {
  const { responses, used } = parse(data, { closeDelimited: false });
  return { responses: responses.map(asRawResponse), used };
}

/** The testkit's response in the shape of these suites: header pairs in order, the body as latin1 text. */
function asRawResponse(response: ParsedResponse): RawResponse {
  const headers = response.headerList;
  return {
    status: response.status,
    headers,
    body: response.body.toString('latin1'),
    header: (name) => headers.find(([n]) => n === name)?.[1],
  };
}

/** Decodes a chunked body starting at `from`; `undefined` while it is incomplete. */
export function decodeChunked(data: Buffer, from: number): { body: string; end: number } | undefined {
  const decoded = decodeChunkedBytes(data, from);
  return decoded && { body: decoded.body.toString('latin1'), end: decoded.end };
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
  const client = await Connection.connect(port, { noDelay: true });
  const data = (): Buffer => client.received();
  return {
    socket: client.socket,
    write: (bytes) => client.write(bytes),
    data,
    responses: () => parseResponses(data()).responses,
    waitForResponses: async (count, timeoutMs = 5000) => {
      const responses = await client.waitUntil(() => {
        const { responses } = parseResponses(data());
        return responses.length >= count || client.closed ? responses : undefined;
      }, timeoutMs);
      if (responses !== undefined) return responses;
      throw new Error(
        `timed out waiting for ${count} responses; got ${JSON.stringify(data().toString('latin1'))}`,
      );
    },
    waitForClose: async (timeoutMs = 5000) =>
      (await client.waitUntil(() => (client.closed ? true : undefined), timeoutMs)) === true,
    get closed() {
      return client.closed;
    },
    destroy: () => client.destroy(),
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
