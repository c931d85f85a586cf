// WebSocket tunnels through the real proxy process: messages both ways, big messages byte-exact,
// balancing, control frames and close codes, the header rules, and the access-log record and metrics of a
// tunnel.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends } from './helpers/backends.js';
import { getMetrics, MiB, sumOf, waitFor } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses } from './helpers/processes.js';
import { closeAllWsBackends, closedWith, nextMessage, openWs, wsBackend } from './helpers/ws.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllWsBackends();
  await closeAllBackends();
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('WebSocket tunnels', () => {
  it('relays text and binary messages both ways, then logs one record with status 101', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { ws, headers } = await openWs(proxy.port, '/chat?room=1', {
      headers: { 'x-request-id': 'ws-req-1' },
    });
    expect(headers.via).toBe('1.1 roundguard');
    expect(headers['x-request-id']).toBe('ws-req-1');
    expect(headers['sec-websocket-accept']).toBeDefined();
    ws.send('hello');
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from('hello'), isBinary: false });
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    ws.send(binary);
    expect(await nextMessage(ws)).toEqual({ data: binary, isBinary: true });
    const seen = backend.handshakes[0]!;
    expect(seen.url).toBe('/chat?room=1');
    expect(seen.headers.via).toBe('1.1 roundguard');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-request-id']).toBe('ws-req-1');
    expect(seen.headers.upgrade).toBe('websocket');
    expect(proxy.accessLog()).toHaveLength(0); // counted when it closes
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_requests_in_flight', { upstream: backend.url })).toBe(1);
    ws.close(1000, 'done');
    expect(await closedWith(ws)).toEqual({ code: 1000, reason: 'done' });
    const record = await proxy.waitForRecord((r) => r.msg === 'request completed');
    expect(record).toMatchObject({
      status: 101,
      method: 'GET',
      path: '/chat',
      upstream: backend.url,
      outcome: 'ok',
      error_code: null,
      req_id: 'ws-req-1',
    });
    // Frames: 5 + 5 bytes of payload, client frames masked (+4), each with a 2-byte header, plus the close.
    expect(record.bytes_in).toBeGreaterThan(10);
    expect(record.bytes_out).toBeGreaterThan(10);
    expect(record.duration_ms).toBeGreaterThan(0);
    await waitFor(async () => {
      const after = (await getMetrics(proxy.adminUrl)).samples;
      return (
        sumOf(after, 'roundguard_requests_in_flight', { upstream: backend.url }) === 0 &&
        sumOf(after, 'roundguard_requests_total', { upstream: backend.url, code: '101', outcome: 'ok' }) === 1
      );
    }, 'the tunnel counted once, out of flight');
    expect(proxy.accessLog()).toHaveLength(1);
  });

  it('relays a 16 MiB message byte-exact both ways', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    const big = Buffer.alloc(16 * MiB);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    ws.send(big);
    const { data, isBinary } = await nextMessage(ws);
    expect(isBinary).toBe(true);
    expect(data.length).toBe(big.length);
    expect(sha256(data)).toBe(sha256(big));
    ws.close();
    const record = await proxy.waitForRecord((r) => r.msg === 'request completed');
    expect(record.bytes_in).toBeGreaterThan(16 * MiB);
    expect(record.bytes_out).toBeGreaterThan(16 * MiB);
  });

  it('splits 300 concurrent tunnels evenly over three upstreams', async () => {
    const backends = await Promise.all([wsBackend(), wsBackend(), wsBackend()]);
    const proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
    const opened = [];
    for (let i = 0; i < 300; i += 50) {
      opened.push(...(await Promise.all(Array.from({ length: 50 }, () => openWs(proxy.port)))));
    }
    expect(backends.map((b) => b.sockets.size)).toEqual([100, 100, 100]);
    await Promise.all(
      opened.map(async ({ ws }, i) => {
        ws.send(`m${i}`);
        expect((await nextMessage(ws)).data.toString()).toBe(`m${i}`);
      }),
    );
    const { samples } = await getMetrics(proxy.adminUrl);
    for (const b of backends)
      expect(sumOf(samples, 'roundguard_requests_in_flight', { upstream: b.url })).toBe(100);
    for (const { ws } of opened) ws.close();
    await waitFor(() => proxy.accessLog().length === 300, '300 records');
    for (const b of backends) expect(proxy.accessLog().filter((r) => r.upstream === b.url)).toHaveLength(100);
  });

  it('passes ping/pong and close codes through', async () => {
    const backend = await wsBackend((ws) => {
      ws.on('message', (message: Buffer) => {
        const data = message.toString();
        if (data === 'ping me') ws.ping(Buffer.from('from-server'));
        if (data === 'bye') ws.close(4001, 'server says bye');
      });
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('from-client'));
    expect((await pong).toString()).toBe('from-client');
    const ping = new Promise<Buffer>((resolve) => ws.once('ping', resolve));
    ws.send('ping me');
    expect((await ping).toString()).toBe('from-server');
    ws.send('bye');
    expect(await closedWith(ws)).toEqual({ code: 4001, reason: 'server says bye' });

    const second = (await openWs(proxy.port)).ws;
    await waitFor(() => backend.sockets.size === 1, 'the second connection');
    const serverSide = [...backend.sockets][0]!;
    const serverClosed = new Promise<[number, string]>((resolve) =>
      serverSide.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    second.close(4002, 'client says bye');
    expect(await serverClosed).toEqual([4002, 'client says bye']);
    await waitFor(() => proxy.accessLog().length === 2, 'two records');
  });
});
