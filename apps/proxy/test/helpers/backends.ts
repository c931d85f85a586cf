// In-test upstreams: an HTTP backend built on node:http whose behaviour each test scripts (and which counts
// the requests it has open), and a raw TCP "upstream" that records the exact bytes it receives and answers
// as scripted (never, slowly, with garbage, with a reset) for the 502 / 504 / abort cases.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { freePort } from '@roundguard/testkit';

const servers = new Set<{ close(): Promise<void> }>();

/** What the backend saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  /** Header names lower-cased, repeated values joined with `, ` (Node's `req.headers`, except set-cookie). */
  readonly headers: IncomingMessage['headers'];
  /** Names and values as they came on the wire. */
  readonly rawHeaders: readonly string[];
}

export interface HttpBackend {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Requests received (health probes included), oldest first. */
  readonly seen: SeenRequest[];
  /** Requests whose response has not closed yet (health probes excluded). */
  readonly inFlight: number;
  /** Requests received, health probes excluded. */
  readonly count: number;
  /** `healthy = false` makes `GET /health` answer 503. */
  healthy: boolean;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An HTTP backend on 127.0.0.1:0. `GET /health` answers 200 (503 when `healthy` is false); every other
 * request goes to `handler`. `inFlight` counts requests from arrival until their response (or the
 * connection) closes.
 */
export async function httpBackend(
  handler: Handler,
  options: { healthPath?: string } = {},
): Promise<HttpBackend> {
  const healthPath = options.healthPath ?? '/health';
  const seen: SeenRequest[] = [];
  let inFlight = 0;
  let count = 0;
  const state = { healthy: true };
  const server = createHttpServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, (req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    if (req.method === 'GET' && req.url === healthPath) {
      res.writeHead(state.healthy ? 200 : 503, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
      return;
    }
    count++;
    inFlight++;
    let open = true;
    const done = (): void => {
      if (open) {
        open = false;
        inFlight--;
      }
    };
    res.once('close', done);
    req.once('close', () => {
      if (res.writableFinished) done();
    });
    try {
      handler(req, res);
    } catch (err) {
      res.destroy(err as Error);
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const backend: HttpBackend = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    get inFlight() {
      return inFlight;
    },
    get count() {
      return count;
    },
    get healthy() {
      return state.healthy;
    },
    set healthy(value: boolean) {
      state.healthy = value;
    },
    close: () => closeServer(server),
  };
  servers.add(backend);
  return backend;
}

/** An HTTP backend that answers every request with `status`, its name as the body and in `X-Backend`. */
export function namedBackend(name: string, status = 200): Promise<HttpBackend> {
  return httpBackend((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'x-backend': name }).end(name));
  });
}

function closeServer(server: Server | NetServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}

/** One TCP connection accepted by a {@link RawUpstream}. */
export interface RawConnection {
  readonly socket: Socket;
  /** Every byte received on this connection so far. */
  bytes(): Buffer;
  /** The request head (up to the blank line), once complete. */
  readonly head: string;
  /** Whether the peer (the proxy) has closed the connection. */
  readonly closed: boolean;
}

/** Called once per connection, when a complete request head has arrived. */
export type RawScript = (conn: RawConnection) => void;

export interface RawUpstream {
  readonly port: number;
  readonly url: string;
  /** Connections that carried something else than a health probe, in order of arrival. */
  readonly connections: RawConnection[];
  /** Connections open right now (health probes excluded). */
  readonly open: number;
  close(): Promise<void>;
}

/**
 * A `net` server on 127.0.0.1:0 that plays an upstream byte by byte. `GET /health` is answered 200 (and
 * the connection closed) unless `answerHealth` is false; for any other request `script` is called with
 * the connection once the head is in.
 */
export async function rawUpstream(
  script: RawScript,
  options: { answerHealth?: boolean } = {},
): Promise<RawUpstream> {
  const answerHealth = options.answerHealth ?? true;
  const connections: RawConnection[] = [];
  const sockets = new Set<Socket>();
  let open = 0;
  const server = createNetServer((socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    let head = '';
    let closed = false;
    let counted = false;
    socket.on('error', () => undefined);
    const conn: RawConnection = {
      socket,
      bytes: () => Buffer.concat(chunks),
      get head() {
        return head;
      },
      get closed() {
        return closed;
      },
    };
    socket.on('close', () => {
      closed = true;
      sockets.delete(socket);
      if (counted) open--;
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (head !== '') return;
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end === -1) return;
      head = all.subarray(0, end).toString('latin1');
      if (answerHealth && head.startsWith('GET /health ')) {
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
        return;
      }
      counted = true;
      open++;
      connections.push(conn);
      script(conn);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const upstream: RawUpstream = {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    get open() {
      return open;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  servers.add(upstream);
  return upstream;
}

/** A port nothing listens on (bound, then released: connecting to it is refused). */
export const closedPort = (): Promise<number> => freePort();

/** Closes every backend started by this module (for afterEach/afterAll). */
export async function closeAllBackends(): Promise<void> {
  const all = [...servers];
  servers.clear();
  await Promise.all(all.map((s) => s.close()));
}
