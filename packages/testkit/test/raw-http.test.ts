import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHead, parseResponse, parseResponses, rawExchange, RawClient } from '../src/raw-http.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('parseResponse', () => {
  it('reads a Content-Length body, and waits while it is incomplete', () => {
    const full = bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello');
    const parsed = parseResponse(full);
    expect(parsed?.end).toBe(full.length);
    expect(parsed?.response).toMatchObject({
      status: 200,
      statusLine: 'HTTP/1.1 200 OK',
      headers: { 'content-length': '5', 'x-a': '1, 2' },
      headerList: [
        ['content-length', '5'],
        ['x-a', '1'],
        ['x-a', '2'],
      ],
    });
    expect(parsed?.response.body.toString()).toBe('hello');
    expect(parseResponse(full.subarray(0, full.length - 1))).toBeUndefined();
  });

  it('decodes a chunked body with extensions and trailers', () => {
    const full = bytes(
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nt: 1\r\n\r\n',
    );
    expect(parseResponse(full)?.response.body.toString()).toBe('abcde');
    expect(parseResponse(full)?.end).toBe(full.length);
    expect(parseResponse(full.subarray(0, full.length - 2))).toBeUndefined();
  });

  it('gives no body to 1xx, 204, 304 and HEAD answers', () => {
    const data = bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n');
    expect(parseResponses(data).responses.map((r) => [r.status, r.body.length])).toEqual([
      [100, 0],
      [204, 0],
    ]);
    const head = bytes('HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n');
    expect(parseResponse(head, 0, { head: true })?.response.body.length).toBe(0);
  });

  it('ends an unframed body with the connection, or takes it as empty', () => {
    const data = bytes('HTTP/1.0 200 OK\r\n\r\nrest');
    expect(parseResponse(data)).toBeUndefined();
    expect(parseResponse(data, 0, { ended: true })?.response.body.toString()).toBe('rest');
    expect(parseResponse(data, 0, { closeDelimited: false })?.response.body.length).toBe(0);
  });

  it('reads the status of anything else as NaN', () => {
    expect(parseHead(bytes('SSH-2.0-x\r\n\r\n'))?.status).toBeNaN();
  });
});

describe('RawClient and rawExchange', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A server that answers every chunk it reads with one pipelined pair of responses, then closes. */
  async function listen(): Promise<number> {
    server = createServer((socket) => {
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n',
        ),
      );
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('reads pipelined responses one by one, then sees the close', async () => {
    const client = await RawClient.connect(await listen());
    await client.write('GET / HTTP/1.1\r\nhost: t\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    expect((await client.readResponse()).status).toBe(404);
    await client.waitEnded();
    expect(await client.waitUntil(() => (client.closed ? true : undefined), 5000)).toBe(true);
    expect(client.received().toString('latin1')).toContain('HTTP/1.1 404');
  });

  it('rawExchange collects everything until the server closes', async () => {
    const { data, closedByServer } = await rawExchange(await listen(), 'x');
    expect(closedByServer).toBe(true);
    expect(parseResponses(bytes(data)).responses.map((r) => r.status)).toEqual([200, 404]);
  });
});
