// WebSocket tunnels that fail or are not tunnels: an upstream that dies mid-stream, a client that
// vanishes, 502 / 503 / 504 before the switch, an upstream that answers without switching, and
// `Upgrade: h2c` (or any request that is not a WebSocket handshake) forwarded as a plain request.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend, rawUpstream } from './helpers/backends.js';
import { getMetrics, sleep, sumOf, waitFor } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';
import { openClient } from './helpers/raw-client.js';
import {
  closeAllWsBackends,
  closedWith,
  nextMessage,
  openWs,
  rawSocketOf,
  refusedWs,
  wsBackend,
} from './helpers/ws.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllWsBackends();
  await closeAllBackends();
});

/** Waits for the one record of the tunnel, then checks no second one comes and nothing is in flight. */
async function oneRecordNothingInFlight(proxy: ProxyProcess): Promise<Record<string, unknown>> {
  const record = await proxy.waitForRecord((r) => r.msg === 'request completed');
  await waitFor(async () => {
    const { samples } = await getMetrics(proxy.adminUrl);
    return sumOf(samples, 'roundguard_requests_in_flight') === 0;
  }, 'the in-flight gauge back to 0');
  await sleep(300);
  expect(proxy.accessLog()).toHaveLength(1);
  return record;
}

/** A raw WebSocket handshake through the proxy; resolves with the socket once the 101 head is in. */
async function rawHandshake(port: number): Promise<{ socket: Socket; head: string }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(
    'GET /raw HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  let data = '';
  while (!data.includes('\r\n\r\n')) data += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1');
  return { socket, head: data };
}

describe('WebSocket tunnels that break', () => {
  it('an upstream reset mid-frame closes the client, counts one upstream_error, leaves nothing in flight', async () => {
    const backend = await wsBackend((ws) => {
      ws.on('message', () => {
        // The start of a 4 KiB binary frame, then a reset.
        rawSocketOf(ws).write(Buffer.from([0x82, 0x7e, 0x10, 0x00, 1, 2, 3]));
        setTimeout(() => rawSocketOf(ws).resetAndDestroy(), 50);
      });
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    ws.on('error', () => undefined);
    ws.send('go');
    expect((await closedWith(ws)).code).toBe(1006);
    const record = await oneRecordNothingInFlight(proxy);
    expect(record).toMatchObject({ status: 101, outcome: 'upstream_error', error_code: 'ECONNRESET' });
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(
      sumOf(samples, 'roundguard_upstream_errors_total', { upstream: backend.url, reason: 'ECONNRESET' }),
    ).toBe(1);
  });

  it('an upstream process killed mid-stream closes the client tunnel', async () => {
    const script = fileURLToPath(new URL('./helpers/ws-echo-process.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    try {
      const proxy = await startProxy(['--upstream', `http://127.0.0.1:${port}`, ...NO_PROBES]);
      const { ws } = await openWs(proxy.port);
      ws.on('error', () => undefined);
      ws.send('first');
      expect((await nextMessage(ws)).data.toString()).toBe('first');
      // A stream of messages is going both ways when the upstream dies.
      const sender = setInterval(() => ws.readyState === ws.OPEN && ws.send(Buffer.alloc(8192, 7)), 5);
      await sleep(100);
      child.kill('SIGKILL');
      expect((await closedWith(ws)).code).toBe(1006);
      clearInterval(sender);
      const record = await oneRecordNothingInFlight(proxy);
      expect(record.status).toBe(101);
      expect(record.bytes_in).toBeGreaterThan(8192);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a client that vanishes mid-frame takes the upstream connection down (reset: client_abort)', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { socket, head } = await rawHandshake(proxy.port);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    await waitFor(() => backend.sockets.size === 1, 'the upstream connection');
    const serverSide = [...backend.sockets][0]!;
    const upstreamClosed = once(serverSide, 'close');
    socket.write(Buffer.from([0x82, 0xfe, 0x10, 0x00, 9, 9, 9, 9, 1, 2])); // start of a masked 4 KiB frame
    await sleep(50);
    socket.resetAndDestroy();
    await upstreamClosed;
    const record = await oneRecordNothingInFlight(proxy);
    expect(record).toMatchObject({ status: 101, outcome: 'client_abort', error_code: 'CLIENT_ABORT' });
  });

  it('a client that closes its connection mid-frame (FIN) takes the upstream connection down', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { socket } = await rawHandshake(proxy.port);
    await waitFor(() => backend.sockets.size === 1, 'the upstream connection');
    const upstreamClosed = once([...backend.sockets][0]!, 'close');
    socket.end(Buffer.from([0x81, 0x85, 1, 2, 3])); // half a frame, then FIN
    await upstreamClosed;
    const record = await oneRecordNothingInFlight(proxy);
    expect(record.status).toBe(101);
    expect(record.bytes_in).toBe(5);
  });
});

describe('bytes around the switch', () => {
  it('relays what the client sent with its handshake, and what the upstream sent with its 101', async () => {
    const upstream = await rawUpstream((conn) => {
      conn.socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nFROM-UPSTREAM',
      );
    });
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    const socket = connect({ port: proxy.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(
      'GET /early HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nFROM-CLIENT',
    );
    let text = '';
    while (!text.endsWith('FROM-UPSTREAM'))
      text += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text).toMatch(/\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
    expect(text).toMatch(/\r\nvia: 1\.1 roundguard\r\n/i);
    await waitFor(
      () => upstream.connections[0]?.bytes().toString('latin1').endsWith('\r\n\r\nFROM-CLIENT'),
      'the early bytes upstream',
    );
    socket.end();
    const record = await oneRecordNothingInFlight(proxy);
    expect(record).toMatchObject({ status: 101, bytes_in: 11, bytes_out: 13 });
  });
});

describe('a handshake pipelined behind a request', () => {
  it('is tunnelled once the answer before it is out', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const socket = connect({ port: proxy.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(
      'GET /health HTTP/1.1\r\nHost: example.test\r\n\r\n' +
        'GET /after HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    let data = Buffer.alloc(0);
    const read = async (until: (text: string) => boolean): Promise<string> => {
      while (!until(data.toString('latin1')))
        data = Buffer.concat([data, ((await once(socket, 'data')) as [Buffer])[0]]);
      return data.toString('latin1');
    };
    const heads = await read((t) => /HTTP\/1\.1 101 [^]*\r\n\r\n/.test(t));
    expect(heads).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nokHTTP\/1\.1 101 /);
    const switched = data.length;
    // A masked text frame (all-zero mask) "hi": echoed unmasked.
    socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
    await read((t) => t.length >= switched + 4);
    expect([...data.subarray(switched, switched + 4)]).toEqual([0x81, 0x02, 0x68, 0x69]);
    expect(backend.handshakes[0]!.url).toBe('/after');
    socket.destroy();
    await waitFor(() => proxy.accessLog().length === 2, 'two records');
    expect(proxy.accessLog().map((r) => [r.path, r.status])).toEqual([
      ['/health', 200],
      ['/after', 101],
    ]);
  });
});

describe('WebSocket handshakes that do not switch', () => {
  it('answers 502 UPSTREAM_ERROR when the upstream refuses the connection, then 503 NO_HEALTHY_UPSTREAM', async () => {
    const port = await closedPort();
    const proxy = await startProxy(['--upstream', `http://127.0.0.1:${port}`, ...NO_PROBES]);
    const first = await refusedWs(proxy.port);
    expect(first.status).toBe(502);
    expect(JSON.parse(first.body)).toEqual({
      error: { code: 'UPSTREAM_ERROR', message: expect.any(String) },
    });
    expect(first.headers['x-request-id']).toBeDefined();
    expect(first.headers.connection).toBe('close');
    // The connect failure took the only upstream out of rotation.
    const second = await refusedWs(proxy.port);
    expect(second.status).toBe(503);
    expect(JSON.parse(second.body).error.code).toBe('NO_HEALTHY_UPSTREAM');
    expect(second.headers['retry-after']).toBeDefined();
    await waitFor(() => proxy.accessLog().length === 2, 'two records');
    expect(proxy.accessLog().map((r) => [r.status, r.outcome, r.error_code])).toEqual([
      [502, 'upstream_error', 'ECONNREFUSED'],
      [503, 'no_upstream', 'NO_HEALTHY_UPSTREAM'],
    ]);
  });

  it('answers 504 UPSTREAM_TIMEOUT when the upstream does not answer the handshake in time', async () => {
    const silent = await rawUpstream(() => undefined);
    const proxy = await startProxy(['--upstream', silent.url, '--headers-timeout', '300', ...NO_PROBES]);
    const answer = await refusedWs(proxy.port);
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body).error.code).toBe('UPSTREAM_TIMEOUT');
    const record = await oneRecordNothingInFlight(proxy);
    expect(record).toMatchObject({ status: 504, outcome: 'timeout', error_code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(silent.connections[0]!.head).toMatch(/\r\nupgrade: websocket(\r\n|$)/i);
  });

  it('forwards an answer other than 101 as it is', async () => {
    const backend = await httpBackend((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain', 'x-why': 'no-ticket' });
      res.end('no ticket, no socket');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const answer = await refusedWs(proxy.port, '/private');
    expect(answer).toMatchObject({ status: 403, body: 'no ticket, no socket' });
    expect(answer.headers['x-why']).toBe('no-ticket');
    expect(answer.headers.via).toBe('1.1 roundguard');
    const record = await oneRecordNothingInFlight(proxy);
    expect(record).toMatchObject({ status: 403, outcome: 'ok', bytes_out: 20, upstream: backend.url });
    expect(backend.seen[0]!.headers.upgrade).toBe('websocket');
  });

  it('refuses a handshake the proxy would refuse as a plain request, with the same answer', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const handshake =
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const [request, status, code] of [
      [`GET /no-host HTTP/1.1\r\n${handshake}\r\n`, 400, 'BAD_REQUEST'],
      [`GET /two-hosts HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n${handshake}\r\n`, 400, 'BAD_REQUEST'],
      [
        `GET /bad-coding HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n${handshake}\r\n`,
        501,
        'NOT_IMPLEMENTED',
      ],
    ] as const) {
      const client = await openClient(proxy.port);
      await client.write(request);
      const [answer] = await client.waitForResponses(1);
      expect(answer!.status, request).toBe(status);
      expect(JSON.parse(answer!.body).error.code).toBe(code);
      client.destroy();
    }
    expect(backend.handshakes).toHaveLength(0);
    await waitFor(() => proxy.accessLog().length === 3, 'three records');
    expect(proxy.accessLog().map((r) => [r.status, r.outcome, r.error_code])).toEqual([
      [400, 'rejected', 'BAD_REQUEST'],
      [400, 'rejected', 'BAD_REQUEST'],
      [501, 'rejected', 'NOT_IMPLEMENTED'],
    ]);
  });

  it('forwards Upgrade: h2c as a plain request (body and the next request on the connection included)', async () => {
    const backend = await httpBackend((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const client = await openClient(proxy.port);
    await client.write(
      'POST /h2c HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    await sleep(50);
    await client.write(
      '6\r\n world\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: foo/2\r\n\r\n' +
        'POST /ws-post HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nhi',
    );
    const responses = await client.waitForResponses(3);
    expect(responses.map((r) => [r.status, r.body])).toEqual([
      [200, 'POST /h2c hello world'],
      [200, 'GET /next '],
      [200, 'POST /ws-post hi'],
    ]);
    for (const seen of backend.seen) {
      expect(seen.headers.upgrade).toBeUndefined();
      expect(seen.headers['http2-settings']).toBeUndefined();
      expect(seen.headers.connection).not.toMatch(/upgrade/i);
      expect(seen.headers.via).toBe('1.1 roundguard');
    }
    await waitFor(() => proxy.accessLog().length === 3, 'three records');
    expect(proxy.accessLog().map((r) => r.status)).toEqual([200, 200, 200]);
    client.destroy();
  });
});
