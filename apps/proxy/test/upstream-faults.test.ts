// Upstream faults end to end: an upstream that refuses, resets, sends garbage or closes (502), none in
// rotation (503), one too slow (504), responses cut mid-body, an answer before the upload is over,
// keep-alive sockets the upstream closes while idle, one slow upstream among fast ones, malformed status
// lines and headers, a connect that is never answered (a local black hole), and error bodies that leak
// nothing. Each case asserts the client's exact answer (status, code, JSON body), what the upstream saw,
// the access record and the metrics, and that the proxy still serves afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend, rawUpstream } from './helpers/backends.js';
import { errorCodeOf, parseRaw } from './helpers/hardening.js';
import {
  getMetrics,
  getUpstreams,
  postJson,
  rawExchange,
  request,
  sleep,
  sumOf,
  waitFor,
  waitForHealth,
  type Response,
} from './helpers/http.js';
import {
  NO_PROBES,
  startProxy,
  startProxyWithNoUpstreamUp,
  stopAllProcesses,
  type ProxyProcess,
} from './helpers/processes.js';
import { exchange, expectCleanErrorBody } from './helpers/raw-client.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopAllProcesses();
  await closeAllBackends();
});
afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

async function stillServes(proxy: ProxyProcess): Promise<void> {
  const upstreams = await getUpstreams(proxy.adminUrl);
  expect(upstreams.every((u) => u.inFlight === 0)).toBe(true);
  expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  expect(proxy.child.exitCode).toBeNull();
}

function expectError(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  const body = res.json<{ error: { code: string; message: string } }>();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(Object.keys(body)).toEqual(['error']);
  expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
}

async function accessRecord(proxy: ProxyProcess, requestId: string): Promise<Record<string, unknown>> {
  return proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === requestId);
}

async function stillAlive(proxy: ProxyProcess): Promise<void> {
  expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  expect(proxy.child.exitCode).toBeNull();
}

describe('502 UPSTREAM_ERROR', () => {
  it('answers 502 when the upstream refuses the connection, then 503 with Retry-After (it left the rotation)', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const proxy = await startProxy(['--upstream', url, '--health-interval', '5000']);
    const first = await postJson(`${proxy.url}/x`);
    expectError(first, 502, 'UPSTREAM_ERROR');
    const log = await accessRecord(proxy, first.headers['x-request-id'] as string);
    expect(log).toMatchObject({
      level: 'warn',
      status: 502,
      outcome: 'upstream_error',
      error_code: 'ECONNREFUSED',
      upstream: url,
    });
    // The body was read (it reached no upstream), and the client got the proxy's error body.
    expect(log).toMatchObject({
      bytes_in: Buffer.byteLength(JSON.stringify({ hello: 'world' })),
      bytes_out: first.body.length,
    });

    const second = await postJson(`${proxy.url}/x`);
    expectError(second, 503, 'NO_HEALTHY_UPSTREAM');
    expect(second.headers['retry-after']).toBe('5');
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(
      sumOf(samples, 'roundguard_upstream_errors_total', { upstream: url, reason: 'ECONNREFUSED' }),
    ).toBe(1);
    expect(
      sumOf(samples, 'roundguard_requests_total', { upstream: url, code: '502', outcome: 'upstream_error' }),
    ).toBe(1);
    expect(sumOf(samples, 'roundguard_requests_total', { code: '503', outcome: 'no_upstream' })).toBe(1);
    await stillAlive(proxy);
  });

  it('answers 502 when the upstream resets the connection', async () => {
    const upstream = await rawUpstream((conn) => conn.socket.resetAndDestroy());
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    const res = await postJson(`${proxy.url}/reset`);
    expectError(res, 502, 'UPSTREAM_ERROR');
    const log = await accessRecord(proxy, res.headers['x-request-id'] as string);
    expect(log).toMatchObject({ status: 502, outcome: 'upstream_error', upstream: upstream.url });
    // Sent once: no retry.
    expect(upstream.connections).toHaveLength(1);
    // A reset is not a connect failure: the upstream stays in rotation.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: true });
    await stillAlive(proxy);
  });

  it('answers 502 when the upstream sends something that is not HTTP', async () => {
    const upstream = await rawUpstream((conn) => conn.socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    const res = await postJson(`${proxy.url}/garbage`);
    expectError(res, 502, 'UPSTREAM_ERROR');
    expect(upstream.connections).toHaveLength(1);
    await stillAlive(proxy);
  });

  it('answers 502 when the upstream closes the connection without answering', async () => {
    const upstream = await rawUpstream((conn) => conn.socket.end());
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    const res = await request(`${proxy.url}/closed`, { method: 'DELETE' });
    expectError(res, 502, 'UPSTREAM_ERROR');
    // DELETE is idempotent, yet the proxy sends it once: no retries.
    expect(upstream.connections).toHaveLength(1);
    await stillAlive(proxy);
  });
});

describe('503 NO_HEALTHY_UPSTREAM', () => {
  it('answers 503 with Retry-After when every upstream is down, and again 200 once one is back', async () => {
    const backend = await httpBackend((_req, res) => res.end('fine'));
    backend.healthy = false;
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      '--health-interval',
      '200',
      '--health-timeout',
      '150',
    ]);
    await waitForHealth(proxy.adminUrl, backend.url, false);
    const before = backend.count;
    const res = await request(`${proxy.url}/anything?q=1`);
    expectError(res, 503, 'NO_HEALTHY_UPSTREAM');
    expect(res.headers['retry-after']).toBe('1'); // the probe interval, in whole seconds, at least 1
    expect(backend.count).toBe(before);
    const log = await accessRecord(proxy, res.headers['x-request-id'] as string);
    expect(log).toMatchObject({
      level: 'warn',
      status: 503,
      outcome: 'no_upstream',
      error_code: 'NO_HEALTHY_UPSTREAM',
    });

    backend.healthy = true;
    await waitForHealth(proxy.adminUrl, backend.url, true);
    const ok = await request(`${proxy.url}/anything`);
    expect(ok.status).toBe(200);
    expect(ok.text()).toBe('fine');
  });

  it('answers 503 for every method while none is healthy, counting each once', async () => {
    const [p1, p2] = await Promise.all([closedPort(), closedPort()]);
    const proxy = await startProxy([
      '--upstream',
      `http://127.0.0.1:${p1}`,
      '--upstream',
      `http://127.0.0.1:${p2}`,
      '--health-interval',
      '200',
      '--health-timeout',
      '150',
    ]);
    await waitFor(async () => (await request(`${proxy.adminUrl}/readyz`)).status === 503, '/readyz 503');
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      expectError(
        await request(`${proxy.url}/`, { method, body: method === 'GET' ? undefined : 'x' }),
        503,
        'NO_HEALTHY_UPSTREAM',
      );
    }
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(
      sumOf(samples, 'roundguard_requests_total', { code: '503', outcome: 'no_upstream', upstream: 'none' }),
    ).toBe(4);
  });
});

describe('504 UPSTREAM_TIMEOUT', () => {
  it('answers 504 when the upstream sends no response headers within --headers-timeout', async () => {
    const upstream = await rawUpstream(() => undefined); // reads the request, never answers
    const proxy = await startProxy(['--upstream', upstream.url, '--headers-timeout', '300', ...NO_PROBES]);
    const started = Date.now();
    const res = await postJson(`${proxy.url}/slow`, { slow: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expectError(res, 504, 'UPSTREAM_TIMEOUT');
    const log = await accessRecord(proxy, res.headers['x-request-id'] as string);
    expect(log).toMatchObject({
      level: 'warn',
      status: 504,
      outcome: 'timeout',
      error_code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    // The request reached the upstream once, intact, and the proxy gave up on that connection.
    expect(upstream.connections).toHaveLength(1);
    expect(upstream.connections[0]!.bytes().toString('latin1')).toMatch(
      /^POST \/slow HTTP\/1\.1\r\n[\s\S]*\r\n\r\n\{"slow":true\}$/,
    );
    await waitFor(() => upstream.connections[0]!.closed, 'the timed-out upstream connection to be closed');
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_upstream_errors_total', { reason: 'UND_ERR_HEADERS_TIMEOUT' })).toBe(1);
    expect(sumOf(samples, 'roundguard_requests_total', { code: '504', outcome: 'timeout' })).toBe(1);
    // A slow upstream is not a dead one: it stays in rotation.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: true, inFlight: 0 });
    await stillAlive(proxy);
  });
});

describe('responses cut by the upstream', () => {
  it('cuts the client response when the upstream dies mid-body (never a "complete" truncated body)', async () => {
    const upstream = await rawUpstream((conn) => {
      conn.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000\r\n\r\n');
      conn.socket.write('x'.repeat(1000), () => setTimeout(() => conn.socket.destroy(), 50));
    });
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    const err = await request(`${proxy.url}/cut`).then(
      (res) => new Error(`got a complete response: ${res.status} with ${res.body.length} bytes`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toMatch(/complete response/);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/cut');
    expect(log).toMatchObject({ status: 200, outcome: 'upstream_error' });
    await stillAlive(proxy);
  });

  it('cuts a chunked response when the upstream dies before the last chunk', async () => {
    const upstream = await rawUpstream((conn) => {
      conn.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n', () =>
        setTimeout(() => conn.socket.destroy(), 50),
      );
    });
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    // On the wire: the client must not see the terminating 0-length chunk.
    const { data } = await rawExchange(proxy.port, `GET /chunks HTTP/1.1\r\nhost: t\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 200/);
    expect(data).toContain('hello');
    expect(data).not.toMatch(/\r\n0\r\n\r\n$/);
  });

  it('cuts the response when the upstream goes idle mid-body for longer than --body-timeout', async () => {
    const upstream = await rawUpstream((conn) => {
      conn.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    });
    const proxy = await startProxy(['--upstream', upstream.url, '--body-timeout', '300', ...NO_PROBES]);
    await expect(request(`${proxy.url}/idle`)).rejects.toThrow();
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/idle');
    expect(log).toMatchObject({ status: 200, outcome: 'timeout', error_code: 'UND_ERR_BODY_TIMEOUT' });
    await waitFor(() => upstream.connections[0]!.closed, 'the idle upstream connection to be closed');
    await stillAlive(proxy);
  });
});

describe('an upstream that answers before the upload is over', () => {
  it.each([413, 200])(
    'passes an early %i to the client, closes the client connection after it, and is not wedged',
    async (status) => {
      let received = 0;
      const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/ok') {
          req.resume();
          req.on('end', () => res.end('ok'));
          return;
        }
        req.on('data', (c: Buffer) => (received += c.length));
        res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('early');
      });
      const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
      const size = 16 * 1024 * 1024;
      // A raw client that keeps uploading until the proxy closes the connection.
      const data = await new Promise<string>((resolve) => {
        const socket = connect({ port: proxy.port, host: '127.0.0.1' });
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => socket.destroy(), 10_000);
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('latin1'));
        });
        socket.write(`POST /early HTTP/1.1\r\nhost: t\r\ncontent-length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let sent = 0;
        const pump = (): void => {
          while (sent < size && !socket.destroyed) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      const res = parseRaw(data);
      expect(res.status).toBe(status);
      expect(res.body).toBe('early');
      expect(res.headers.connection).toBe('close');
      // The upstream got the one request (not all of its body), once.
      expect(backend.count).toBe(1);
      expect(received).toBeLessThan(size);
      const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/early');
      expect(log).toMatchObject({ status, outcome: 'ok', upstream: backend.url });
      await waitFor(() => backend.inFlight === 0, 'the upstream request to be closed');
      const after = await request(`${proxy.url}/ok`, { method: 'POST', body: 'x' });
      expect(after.status).toBe(200);
      expect(after.text()).toBe('ok');
      await stillServes(proxy);
    },
  );
});

describe('an answer before the upload is over, to a client that reads only once it has sent its body', () => {
  // Most clients send the whole body before they read the answer. The proxy answers (here: the
  // upstream's early 413) and closes the connection while such a client is still sending: closed at
  // once, the socket would be reset by the kernel and the client's next write would fail before it read
  // the answer. The proxy closes in stages instead (FIN, then reads and drops the rest for a while).
  async function uploadThenRead(port: number, path: string, size: number, sendBody: Promise<void>) {
    return new Promise<{ data: string; error: string; ended: boolean }>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      const chunks: Buffer[] = [];
      let error = '';
      let ended = false;
      socket.on('end', () => (ended = true));
      const timer = setTimeout(() => socket.destroy(), 15_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? 'error'));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ data: Buffer.concat(chunks).toString('latin1'), error, ended });
      });
      socket.pause(); // nothing is read until the whole body is sent
      // The head and a first chunk: the proxy streams a body this big, and sends the head with it.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      socket.write(`POST ${path} HTTP/1.1\r\nhost: t\r\ncontent-length: ${size}\r\n\r\n`);
      socket.write(chunk);
      let sent = chunk.length;
      const pump = (): void => {
        while (sent < size && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.resume();
      };
      void sendBody.then(pump);
    });
  }

  it('gets the early answer (no reset), and the connection is closed after it', async () => {
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      req.on('data', () => undefined);
      res.writeHead(413, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('early');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const answered = proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/early');
    // The rest of the body is sent once the proxy has answered (and accounted) the request.
    const { data, error, ended } = await uploadThenRead(
      proxy.port,
      '/early',
      16 * 1024 * 1024,
      answered.then(() => undefined),
    );
    expect(error).toBe('');
    expect(ended, 'the proxy closed its side').toBe(true);
    const res = parseRaw(data);
    expect(res.status).toBe(413);
    expect(res.body).toBe('early');
    expect(res.headers.connection).toBe('close');
    expect(await answered).toMatchObject({ status: 413, outcome: 'ok', upstream: backend.url });
    await stillServes(proxy);
  });

  it('gets the 503 the proxy answers itself when no upstream is in rotation', async () => {
    const proxy = await startProxyWithNoUpstreamUp();
    const answered = proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/none');
    const { data, error } = await uploadThenRead(
      proxy.port,
      '/none',
      16 * 1024 * 1024,
      answered.then(() => undefined),
    );
    expect(error).toBe('');
    const res = parseRaw(data);
    expect(res.status).toBe(503);
    expect(errorCodeOf(res)).toBe('NO_HEALTHY_UPSTREAM');
    expect(res.headers.connection).toBe('close');
  });

  it('does not keep the connection of a client that never stops sending: it is closed within seconds', async () => {
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      req.on('data', () => undefined);
      res.writeHead(413, { 'content-length': '5' }).end('early');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    // Half-open allowed: the proxy's FIN does not make this client stop.
    const socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    let ended = false;
    socket.on('end', () => (ended = true));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.write(`POST /endless HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000000\r\n\r\n`);
    socket.write(Buffer.alloc(64 * 1024, 0x61));
    await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/endless');
    const answeredAt = Date.now();
    // Keeps sending a little, forever (until the proxy closes the connection).
    const drip = setInterval(() => socket.write(Buffer.alloc(1024, 0x62)), 50);
    const closedAt = await closed;
    clearInterval(drip);
    expect(ended, 'the proxy closed its side first').toBe(true);
    expect(closedAt - answeredAt).toBeLessThan(10_000);
    expect(parseRaw(Buffer.concat(chunks).toString('latin1')).status).toBe(413);
    await stillServes(proxy);
  });
});

describe('keep-alive connections the upstream closes while idle', () => {
  /** Sends `n` requests one after another, `gap()` ms apart; returns the statuses. */
  async function spaced(proxy: ProxyProcess, n: number, gap: () => number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i > 0) await sleep(gap());
      statuses.push((await postJson(`${proxy.url}/spaced/${i}`, { i })).status);
    }
    return statuses;
  }

  it('never answers 502 to requests 1-1.5 s apart: a Node.js upstream with a 1 s keep-alive timeout, and one that closes after 1 s without saying so', async () => {
    // A: node:http with keepAliveTimeout 1 s (it announces `Keep-Alive: timeout=1`).
    const announced = createHttpServer({ keepAliveTimeout: 1000 }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('A'));
    });
    let announcedConnections = 0;
    announced.on('connection', () => announcedConnections++);
    await new Promise<void>((resolve) => announced.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          announced.closeAllConnections();
          announced.close(() => resolve());
        }),
    );
    // B: a raw server that keeps the connection alive without a Keep-Alive header and closes it after
    // 1 s of idleness, as many servers and load balancers do.
    let silentConnections = 0;
    const silentSockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      silentConnections++;
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
      socket.on('error', () => undefined);
      let idle: NodeJS.Timeout | undefined;
      let buffer = '';
      socket.on('data', (c: Buffer) => {
        clearTimeout(idle);
        buffer += c.toString('latin1');
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) break;
          const length = Number(/content-length: *(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
          if (buffer.length < end + 4 + length) break;
          buffer = buffer.slice(end + 4 + length);
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nB');
        }
        idle = setTimeout(() => socket.end(), 1000);
      });
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of silentSockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const urlOf = (s: { address(): unknown }): string =>
      `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const [proxyA, proxyB] = await Promise.all([
      startProxy(['--upstream', urlOf(announced), ...NO_PROBES]),
      startProxy(['--upstream', urlOf(silent), ...NO_PROBES]),
    ]);
    const [statusesA, statusesB] = await Promise.all([
      spaced(proxyA, 8, () => 1000 + Math.random() * 500),
      // The server's close must reach the proxy before the next request does: a request sent in the
      // very millisecond the server closes cannot be told apart from a failure without retries (and
      // the proxy does not retry), so the gap starts a quarter second past the server's timeout.
      spaced(proxyB, 8, () => 1250 + Math.random() * 250),
    ]);
    expect(statusesA).toEqual(Array(8).fill(200));
    expect(statusesB).toEqual(Array(8).fill(200));
    // The upstreams did close the idle connections: the proxy opened new ones rather than fail.
    expect(announcedConnections).toBeGreaterThanOrEqual(2);
    expect(silentConnections).toBeGreaterThanOrEqual(2);
    for (const proxy of [proxyA, proxyB]) {
      const { samples } = await getMetrics(proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(0);
      await stillServes(proxy);
    }
  });
});

describe('one slow upstream among fast ones', () => {
  it('does not slow the requests that go to the others', async () => {
    const fast = await Promise.all(
      ['fast-1', 'fast-2'].map((name) =>
        httpBackend((req, res) => {
          req.resume();
          res.writeHead(200, { 'x-name': name }).end(name);
        }),
      ),
    );
    const slow = await httpBackend((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'x-name': 'slow' }).end('slow'), 3000);
    });
    const proxy = await startProxy([
      '--upstream',
      slow.url,
      '--upstream',
      fast[0]!.url,
      '--upstream',
      fast[1]!.url,
      ...NO_PROBES,
    ]);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 9 }, async () => {
        const res = await request(`${proxy.url}/mixed`);
        return { name: String(res.headers['x-name']), status: res.status, ms: Date.now() - started };
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(9).fill(200));
    const slowOnes = results.filter((r) => r.name === 'slow');
    const fastOnes = results.filter((r) => r.name !== 'slow');
    expect(slowOnes).toHaveLength(3);
    expect(fastOnes).toHaveLength(6);
    for (const r of fastOnes) expect(r.ms, JSON.stringify(results)).toBeLessThan(1500);
    for (const r of slowOnes) expect(r.ms).toBeGreaterThanOrEqual(2900);
    // The slow upstream got its three requests at once (one connection each), not one after another.
    expect(Math.max(...slowOnes.map((r) => r.ms))).toBeLessThan(5500);
    await stillServes(proxy);
  });
});

describe('malformed upstream responses', () => {
  const variants: [string, string, string][] = [
    [
      'a status code that is not a number',
      'HTTP/1.1 abc OK\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['a two-digit status code', 'HTTP/1.1 99 Low\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    ['a four-digit status code', 'HTTP/1.1 1000 Big\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    ['a status code over 599', 'HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\nok', 'INVALID_RESPONSE'],
    ['status code 999', 'HTTP/1.1 999 Odd\r\ncontent-length: 2\r\n\r\nok', 'INVALID_RESPONSE'],
    ['an HTTP/0.9 answer (no status line)', 'ok\r\n', 'HPE_INVALID_RESPONSE'],
    [
      'a header name with a space',
      'HTTP/1.1 200 OK\r\nbad header: x\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'a space before the colon',
      'HTTP/1.1 200 OK\r\nx-a : b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['an empty header name', 'HTTP/1.1 200 OK\r\n: b\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    [
      'NUL in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\x00b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'DEL in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\x7fb\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'a bare CR in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\rb\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'an obs-folded header',
      'HTTP/1.1 200 OK\r\nx-a: a\r\n b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['bare LF line ends', 'HTTP/1.1 200 OK\ncontent-length: 2\n\nok', 'HPE_INVALID_RESPONSE'],
    [
      'a Content-Length that is not a number',
      'HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'two different Content-Length headers',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ],
    [
      'a 100 KiB header',
      `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(100_000)}\r\ncontent-length: 2\r\n\r\nok`,
      'UND_ERR_HEADERS_OVERFLOW',
    ],
    [
      '101 Switching Protocols to a plain request',
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
      'UND_ERR_SOCKET',
    ],
  ];

  it('answers each with 502 UPSTREAM_ERROR and a bounded reason, keeps the upstream in rotation, and still serves', async () => {
    const upstream = await rawUpstream((conn) => {
      const name = decodeURIComponent(conn.head.split(' ')[1]!.slice(1));
      const variant = variants.find(([n]) => n === name);
      if (variant === undefined)
        return void conn.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfine');
      conn.socket.end(Buffer.from(variant[1], 'latin1'));
    });
    // Outlier detection off: 19 failed exchanges in a row would eject the only upstream (tested apart).
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES, '--eject-after', '0']);
    for (const [name, , reason] of variants) {
      const { data } = await rawExchange(
        proxy.port,
        `GET /${encodeURIComponent(name)} HTTP/1.1\r\nhost: t\r\nx-request-id: v-${variants.findIndex(([n]) => n === name)}\r\nconnection: close\r\n\r\n`,
        5000,
      );
      const res = parseRaw(data);
      expect(res.status, name).toBe(502);
      expect(errorCodeOf(res), name).toBe('UPSTREAM_ERROR');
      const id = `v-${variants.findIndex(([n]) => n === name)}`;
      const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === id);
      expect(log, name).toMatchObject({
        status: 502,
        outcome: 'upstream_error',
        error_code: reason,
        level: 'warn',
      });
    }
    // Sent once each: no retries.
    expect(upstream.connections).toHaveLength(variants.length);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(variants.length);
    expect(sumOf(samples, 'roundguard_upstream_errors_total', { reason: 'UNKNOWN' })).toBe(0);
    // A malformed answer is not a connect failure: the upstream stays in rotation and serves on.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: true, inFlight: 0 });
    const ok = await request(`${proxy.url}/fine`);
    expect(ok.status).toBe(200);
    expect(ok.text()).toBe('fine');
  });

  it('forwards the tolerable oddities: no reason phrase, a 103 before the answer, obs-text in a value', async () => {
    const answers: Record<string, string> = {
      '/no-reason': 'HTTP/1.1 200\r\ncontent-length: 2\r\n\r\nok',
      '/early-hints':
        'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
      '/obs-text': 'HTTP/1.1 200 OK\r\nx-latin: caf\xe9\r\ncontent-length: 2\r\n\r\nok',
    };
    const upstream = await rawUpstream((conn) =>
      conn.socket.end(Buffer.from(answers[conn.head.split(' ')[1]!]!, 'latin1')),
    );
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    for (const path of Object.keys(answers)) {
      const { data } = await rawExchange(
        proxy.port,
        `GET ${path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      );
      const res = parseRaw(data);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toBe('ok');
      // Interim responses are not forwarded (Node.js answers 100-continue itself; others are dropped).
      expect(res.statusLines, path).toHaveLength(1);
      if (path === '/obs-text') expect(res.headers['x-latin']).toBe('caf\xe9');
    }
    await stillServes(proxy);
  });
});

/** Resolves 'hangs' when a TCP connect to host:port is still pending after `ms`, else how it ended. */
function connectOutcome(host: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('hangs');
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
  });
}

/**
 * A loopback port whose connects hang: a child process listens on it with the smallest accept queue and
 * then blocks its event loop, so it never accepts. Once the queue is full (a connection or two), the
 * kernel drops further SYNs and the next connect waits: a local, deterministic black hole.
 */
async function unacceptingListener(): Promise<number> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         require('node:fs').writeSync(1, s.address().port + '\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  return new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
  );
}

describe('a connect that is never answered', () => {
  async function expectConnectTimeout(url: string): Promise<void> {
    const proxy = await startProxy(['--upstream', url, '--connect-timeout', '500', ...NO_PROBES]);
    const started = Date.now();
    const res = await postJson(`${proxy.url}/blackhole`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.any(String) } });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(5000);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/blackhole');
    expect(log).toMatchObject({
      status: 502,
      outcome: 'upstream_error',
      error_code: 'UND_ERR_CONNECT_TIMEOUT',
    });
    // A connect timeout takes the upstream out of rotation until its next good probe.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: false, inFlight: 0 });
    const next = await postJson(`${proxy.url}/next`);
    expect(next.status).toBe(503);
    expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  }

  it('answers 502 after --connect-timeout to a listener whose accept queue is full', async () => {
    const port = await unacceptingListener();
    // Each connect that completes (the probe closes it at once) stays in the never-accepted queue.
    let outcome = '';
    for (let i = 0; i < 5 && outcome !== 'hangs'; i++) outcome = await connectOutcome('127.0.0.1', port, 300);
    expect(outcome, 'the full accept queue should make connects hang').toBe('hangs');
    await expectConnectTimeout(`http://127.0.0.1:${port}`);
  });
});

describe('error bodies the proxy generates leak nothing', () => {
  it('502, 503 and 504 bodies are only a code and a message', async () => {
    const port = await closedPort();
    const refused = await startProxy(['--upstream', `http://127.0.0.1:${port}`, ...NO_PROBES]);
    const silent = await rawUpstream(() => undefined);
    const slow = await startProxy(['--upstream', silent.url, '--headers-timeout', '300', ...NO_PROBES]);
    try {
      const first = await exchange(refused.port, 'GET /x HTTP/1.1\r\nhost: t\r\n\r\n', {
        expectClose: false,
      });
      expect(first.responses.map((r) => r.status)).toEqual([502]);
      expectCleanErrorBody(first.responses[0]!.body, 'UPSTREAM_ERROR');
      const second = await exchange(refused.port, 'GET /x HTTP/1.1\r\nhost: t\r\n\r\n', {
        expectClose: false,
      });
      expect(second.responses.map((r) => r.status)).toEqual([503]);
      expectCleanErrorBody(second.responses[0]!.body, 'NO_HEALTHY_UPSTREAM');
      const third = await exchange(slow.port, 'GET /x HTTP/1.1\r\nhost: t\r\n\r\n', { expectClose: false });
      expect(third.responses.map((r) => r.status)).toEqual([504]);
      expectCleanErrorBody(third.responses[0]!.body, 'UPSTREAM_TIMEOUT');
    } finally {
      await refused.stop();
      await slow.stop();
      await silent.close();
    }
  });
});
