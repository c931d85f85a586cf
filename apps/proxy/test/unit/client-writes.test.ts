// The client write path on real loopback sockets: writes held until the end of the turn leave together,
// in order; a socket destroyed meanwhile does not stop the others; a response past the limit streams at
// once; back-pressure still pauses the upstream when the client does not read.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COALESCE_LIMIT,
  corkUntilEndOfTurn,
  endResponse,
  mayCoalesce,
  RESPONSE_BUFFER_LIMIT,
  uncorkNow,
  writeResponseBody,
  type BodyWriter,
} from '../../src/client-writes.js';

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Pair {
  readonly sender: Socket;
  /** Each 'data' event the peer saw, in order. */
  readonly reads: Buffer[];
  received(): string;
  waitFor(bytes: number): Promise<void>;
}

/** A connected pair of loopback sockets; the peer records what it reads. */
async function socketPair(): Promise<Pair> {
  const reads: Buffer[] = [];
  let waiter: (() => void) | null = null;
  const server = createNetServer((peer) => {
    peer.on('data', (c: Buffer) => {
      reads.push(c);
      waiter?.();
    });
    peer.on('error', () => undefined);
    cleanups.push(() => peer.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sender = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', noDelay: true });
  sender.on('error', () => undefined);
  await new Promise<void>((resolve) => sender.once('connect', resolve));
  cleanups.push(() => {
    sender.destroy();
    server.close();
  });
  const received = (): string => Buffer.concat(reads).toString('latin1');
  return {
    sender,
    reads,
    received,
    waitFor: (bytes) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${JSON.stringify(received())}`)), 5000);
        const check = (): void => {
          if (Buffer.concat(reads).length < bytes) return;
          clearTimeout(timer);
          waiter = null;
          resolve();
        };
        waiter = check;
        check();
      }),
  };
}

describe('corkUntilEndOfTurn', () => {
  it('holds the writes of one turn and sends them in order, in one write, at its end', async () => {
    const pair = await socketPair();
    corkUntilEndOfTurn(pair.sender);
    pair.sender.write('HTTP/1.1 200 OK\r\n\r\na');
    corkUntilEndOfTurn(pair.sender); // a second response in the same turn: still one cork
    pair.sender.write('b');
    pair.sender.write('c');
    expect(pair.sender.writableLength).toBe(22); // all held
    expect(pair.reads).toHaveLength(0);
    await endOfTurn();
    expect(pair.sender.writableLength).toBe(0);
    expect(pair.sender.writableCorked).toBe(0);
    await pair.waitFor(22);
    expect(pair.received()).toBe('HTTP/1.1 200 OK\r\n\r\nabc');
    // One writev: the peer cannot have seen it in pieces.
    expect(pair.reads).toHaveLength(1);
  });

  it('leaves a socket corked by someone else corked after the turn (one uncork per cork)', async () => {
    const pair = await socketPair();
    pair.sender.cork();
    corkUntilEndOfTurn(pair.sender);
    pair.sender.write('x');
    await endOfTurn();
    expect(pair.sender.writableCorked).toBe(1);
    expect(pair.sender.writableLength).toBe(1);
    pair.sender.uncork();
    await pair.waitFor(1);
    expect(pair.received()).toBe('x');
  });

  it('a socket destroyed while corked is skipped; the other sockets of the turn still get their writes', async () => {
    const a = await socketPair();
    const b = await socketPair();
    const c = await socketPair();
    for (const [p, text] of [
      [a, 'first'],
      [b, 'lost'],
      [c, 'third'],
    ] as const) {
      corkUntilEndOfTurn(p.sender);
      p.sender.write(text);
    }
    b.sender.destroy();
    corkUntilEndOfTurn(b.sender); // destroyed: not corked again
    await endOfTurn();
    await Promise.all([a.waitFor(5), c.waitFor(5)]);
    expect([a.received(), c.received()]).toEqual(['first', 'third']);
    expect(b.sender.destroyed).toBe(true);
    // A later turn works as before.
    corkUntilEndOfTurn(a.sender);
    a.sender.write('!');
    await endOfTurn();
    await a.waitFor(6);
    expect(a.received()).toBe('first!');
  });

  it('uncorkNow sends at once, and the end of the turn does not uncork a second time', async () => {
    const pair = await socketPair();
    corkUntilEndOfTurn(pair.sender);
    pair.sender.write('now');
    uncorkNow(pair.sender);
    expect(pair.sender.writableCorked).toBe(0);
    expect(pair.sender.writableLength).toBe(0); // the kernel took it synchronously
    pair.sender.cork(); // someone else's cork, across the end of the turn
    await endOfTurn();
    expect(pair.sender.writableCorked).toBe(1);
    pair.sender.uncork();
    await pair.waitFor(3);
    expect(pair.received()).toBe('now');
  });
});

/** A real node:http server whose one request gives us `req` and `res`; the client reads or not. */
async function oneResponse(
  flushHead = true,
): Promise<{ writer: BodyWriter; client: Promise<IncomingMessage>; server: Server }> {
  let handed: ((v: [IncomingMessage, ServerResponse]) => void) | null = null;
  const got = new Promise<[IncomingMessage, ServerResponse]>((resolve) => (handed = resolve));
  const server = createServer((req, res) => handed?.([req, res]));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const clientRes = new Promise<IncomingMessage>((resolve, reject) => {
    const r = request(
      { port: (server.address() as AddressInfo).port, host: '127.0.0.1', path: '/' },
      resolve,
    );
    r.on('error', reject);
    r.end();
  });
  const [req, res] = await got;
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const writer = { req, res, bytesOut: 0, paused: false, drainListening: false };
  if (!flushHead) {
    // The head leaves with the body, so the client's response comes only once that was written.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
    return { writer, client: clientRes, server };
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.flushHeaders();
  const client = await clientRes;
  client.pause();
  return { writer, client: Promise.resolve(client), server };
}

describe('endResponse', () => {
  it('a small response is ended at the end of the turn, head and body in one write; then the socket is uncorked', async () => {
    const { writer, client: response } = await oneResponse(false);
    const socket = writer.req.socket;
    corkUntilEndOfTurn(socket);
    writeResponseBody(writer, Buffer.from('hello'));
    endResponse(writer);
    // Not ended yet: Node's res.end() would uncork the socket fully and send at once.
    expect(writer.res.writableEnded).toBe(false);
    expect(socket.writableCorked).toBe(1);
    await endOfTurn();
    expect(writer.res.writableEnded).toBe(true);
    expect(socket.writableCorked).toBe(0);
    const client = await response;
    const reads: Buffer[] = [];
    client.on('data', (c: Buffer) => reads.push(c));
    await new Promise<void>((resolve) => client.once('end', resolve));
    expect([client.statusCode, Buffer.concat(reads).toString()]).toEqual([200, 'hello']);
  });

  it('a streamed response (past the limit) is ended at once', async () => {
    const { writer } = await oneResponse();
    writeResponseBody(writer, Buffer.alloc(COALESCE_LIMIT + 1, 97));
    endResponse(writer);
    expect(writer.res.writableEnded).toBe(true);
  });

  it('a response destroyed before the end of the turn is left alone; the others of the turn are ended', async () => {
    const a = await oneResponse();
    const b = await oneResponse();
    for (const { writer } of [a, b]) {
      corkUntilEndOfTurn(writer.req.socket);
      writeResponseBody(writer, Buffer.from('x'));
      endResponse(writer);
    }
    a.writer.res.destroy();
    await endOfTurn();
    expect(a.writer.res.writableEnded).toBe(false);
    expect(b.writer.res.writableEnded).toBe(true);
    expect(b.writer.req.socket.writableCorked).toBe(0);
  });
});

describe('writeResponseBody', () => {
  it('a small body waits for the end of the turn; past the limit the response streams at once', async () => {
    const { writer } = await oneResponse();
    const socket = writer.req.socket;
    corkUntilEndOfTurn(socket);
    expect(writeResponseBody(writer, Buffer.alloc(1000, 97))).toBe(true);
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBe(1000 + '3e8\r\n'.length + 2);
    expect(writeResponseBody(writer, Buffer.alloc(COALESCE_LIMIT, 98))).toBe(true);
    expect(writer.bytesOut).toBe(1000 + COALESCE_LIMIT);
    // Node's own per-write cork lasts to the next tick only: everything is out before the turn ends.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(socket.writableLength).toBe(0);
  });

  it('pauses (returns false) once more than the buffer limit waits for a client that does not read, and resumes on drain', async () => {
    const { writer, client: response } = await oneResponse();
    const client = await response;
    const chunk = Buffer.alloc(64 * 1024, 120);
    let accepted = 0;
    let paused = false;
    for (let i = 0; i < 2000 && !paused; i++) {
      paused = !writeResponseBody(writer, chunk);
      accepted++;
    }
    expect(paused).toBe(true);
    expect(writer.paused).toBe(true);
    expect(writer.res.writableLength).toBeGreaterThan(RESPONSE_BUFFER_LIMIT);
    // Bounded: what waits is the kernel buffers plus at most one chunk past the limit.
    expect(accepted).toBeLessThan(2000);
    // The client reads: 'drain' comes, and the listener finds no exchange on this bare res (nothing to
    // resume) without throwing.
    client.resume();
    await new Promise<void>((resolve) => writer.res.once('drain', resolve));
    expect(writer.res.writableLength).toBe(0);
  });
});

describe('mayCoalesce', () => {
  it('holds a response with no Content-Length (chunked or until close) or one within the limit', () => {
    expect(mayCoalesce([])).toBe(true);
    expect(mayCoalesce(['content-type', 'application/json', 'transfer-encoding', 'chunked'])).toBe(true);
    expect(mayCoalesce(['content-length', String(COALESCE_LIMIT)])).toBe(true);
    expect(mayCoalesce(['Content-Length', '0'])).toBe(true);
  });

  it('streams a response whose Content-Length, in any case, declares more than the limit', () => {
    expect(mayCoalesce(['content-length', String(COALESCE_LIMIT + 1)])).toBe(false);
    expect(mayCoalesce(['x-backend', 'b1', 'CONTENT-LENGTH', '65535', 'via', '1.1 a'])).toBe(false);
    expect(mayCoalesce(['Content-Length', '10737418240'])).toBe(false);
  });

  it('looks at Content-Length only: another 14-byte name with a big number is not a length', () => {
    expect(mayCoalesce(['x-content-size', '99999999', 'content-length', '10'])).toBe(true);
    expect(mayCoalesce(['x-content-size', '99999999'])).toBe(true);
  });
});
