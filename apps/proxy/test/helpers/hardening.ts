// Helpers of the black-box suites: a backend that reflects what it received (with its name, so a test
// knows which upstream answered), parsing of raw HTTP/1.1 answers, the proxy's open descriptors, the
// connections an upstream server holds open, and a request that keeps the socket for later inspection.
import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseHead, RawClient } from '@roundguard/testkit';

export { fdCount } from '@roundguard/testkit';
import { httpBackend, type HttpBackend } from './backends.js';

/** What {@link reflectingBackend} answers: the request as it arrived upstream. */
export interface Reflected {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  trailers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
  /** The body as latin1 text (first 4 KiB). */
  body: string;
}

/** An HTTP backend answering 200 with a JSON {@link Reflected} of every request (health probes aside). */
export function reflectingBackend(name: string): Promise<HttpBackend> {
  return httpBackend((req: IncomingMessage, res: ServerResponse) => {
    const hash = createHash('sha256');
    let length = 0;
    const head: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      hash.update(c);
      if (length < 4096) head.push(c);
      length += c.length;
    });
    req.on('end', () => {
      const reflected: Reflected = {
        name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers as Record<string, string>,
        rawHeaders: req.rawHeaders,
        trailers: req.trailers as Record<string, string>,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
        body: Buffer.concat(head).subarray(0, 4096).toString('latin1'),
      };
      const body = JSON.stringify(reflected);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-backend': name,
      });
      res.end(body);
    });
  });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One parsed HTTP/1.1 response out of raw bytes (the last one when there are interim 1xx answers). */
export interface RawResponse {
  readonly status: number;
  /** Status lines of every response in the data, interim ones included. */
  readonly statusLines: string[];
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Parses the raw bytes a client received: interim (1xx) responses, then the final one. The body is the
 * rest of the data, cut at its Content-Length when it has one (a chunked body is left framed).
 */
export function parseRaw(data: string): RawResponse {
  const bytes = Buffer.from(data, 'latin1');
  const statusLines: string[] = [];
  let at = 0;
  for (;;) {
    const head = parseHead(bytes, at);
    if (head === undefined)
      throw new Error(`no complete response head in ${JSON.stringify(data.slice(0, 300))}`);
    statusLines.push(head.statusLine);
    at = head.bodyStart;
    if (head.status >= 100 && head.status < 200) continue;
    // A repeated header keeps its last value.
    const headers = Object.fromEntries(head.headerList) as Record<string, string>;
    const rest = data.slice(at);
    const length = headers['content-length'];
    const body = length === undefined ? rest : rest.slice(0, Number(length));
    return { status: head.status, statusLines, headers, body };
  }
}

/** The `error.code` of a JSON error body. */
export function errorCodeOf(res: RawResponse): string {
  return (JSON.parse(res.body) as { error: { code: string } }).error.code;
}

/** Connections a node:http (or net) server holds open right now. */
export function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}

/** A TCP connection to 127.0.0.1:port that collects what it receives and records when it closes. */
export interface Probe {
  readonly socket: Socket;
  data(): string;
  /** Resolves once the server closed (or reset) the connection. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
}

export async function openProbe(port: number, bytes?: string | Buffer): Promise<Probe> {
  const client = await RawClient.connect(port);
  const closed = new Promise<void>((done) => {
    if (client.closed) done();
    else client.socket.once('close', () => done());
  });
  if (bytes !== undefined) void client.write(bytes);
  return {
    socket: client.socket,
    data: () => client.received().toString('latin1'),
    closed,
    get isClosed() {
      return client.closed;
    },
  };
}
