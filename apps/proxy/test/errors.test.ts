// Failures end to end: every answer the proxy makes itself has the exact status, error code and JSON body
// `{"error":{"code","message"}}`, is counted and logged, and never takes the process down.
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeAllBackends,
  closedPort,
  httpBackend,
  rawUpstream,
  type HttpBackend,
} from './helpers/backends.js';
import {
  getMetrics,
  getUpstreams,
  postJson,
  rawExchange,
  request,
  sumOf,
  waitFor,
  waitForHealth,
  type Response,
} from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

/** No probe runs while the test does (the first one is jittered over one ~23-day interval). */

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

describe('requests the proxy refuses', () => {
  let proxy: ProxyProcess;
  let backend: HttpBackend;
  const setup = async (extra: string[] = []): Promise<void> => {
    backend = await httpBackend((_req, res) => res.end('reached'));
    proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES, ...extra]);
  };

  function statusOf(data: string): number {
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
  }

  function codeOf(data: string): string {
    const body = data.slice(data.indexOf('\r\n\r\n') + 4);
    return (JSON.parse(body) as { error: { code: string } }).error.code;
  }

  it.each([
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'two different Content-Length headers',
      'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
      400,
      'BAD_REQUEST',
    ],
    ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400, 'BAD_REQUEST'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n', 501, 'NOT_IMPLEMENTED'],
    [
      'a transfer coding other than chunked',
      'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'a transfer coding before chunked',
      'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      501,
      'NOT_IMPLEMENTED',
    ],
    ['an asterisk-form target', 'OPTIONS * HTTP/1.1\r\nhost: t\r\n\r\n', 400, 'BAD_REQUEST'],
  ])('refuses %s with the given status and code, forwarding nothing', async (_name, raw, status, code) => {
    await setup();
    const { data } = await rawExchange(proxy.port, raw, 3000);
    expect(statusOf(data)).toBe(status);
    expect(codeOf(data)).toBe(code);
    expect(backend.count).toBe(0);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_requests_total', { upstream: 'none', code: String(status) })).toBe(1);
    // Refused by the proxy itself: not a client abort, in the metrics as in the log.
    expect(
      sumOf(samples, 'roundguard_requests_total', {
        upstream: 'none',
        code: String(status),
        outcome: 'rejected',
      }),
    ).toBe(1);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed');
    expect(log).toMatchObject({
      status,
      outcome: 'rejected',
      upstream: 'none',
      bytes_out: Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)),
    });
  });

  it('answers 431 HEADERS_TOO_LARGE to a request head over 16 KiB', async () => {
    await setup();
    const { data } = await rawExchange(
      proxy.port,
      `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(statusOf(data)).toBe(431);
    expect(codeOf(data)).toBe('HEADERS_TOO_LARGE');
    expect(backend.count).toBe(0);
    const rejected = await proxy.waitForRecord((r) => r.msg === 'request completed');
    expect(rejected).toMatchObject({ status: 431, client_ip: '127.0.0.1', outcome: 'rejected' });
    // The same record as any other request: what the parser could not read is null.
    expect(rejected).toMatchObject({
      req_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      method: null,
      host: null,
      path: null,
      upstream: 'none',
      error_code: 'HPE_HEADER_OVERFLOW',
      bytes_in: 0,
      bytes_out: Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)),
      duration_ms: expect.any(Number),
      upstream_ttfb_ms: null,
    });
  });

  it('answers 408 REQUEST_TIMEOUT and closes when request headers do not arrive within --client-timeout', async () => {
    await setup(['--client-timeout', '300']);
    const { data, closedByServer } = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nhost: t\r\n', 5000);
    expect(closedByServer).toBe(true);
    expect(statusOf(data)).toBe(408);
    expect(codeOf(data)).toBe('REQUEST_TIMEOUT');
  });

  it('answers 408 and closes when the request body stalls for longer than --client-timeout', async () => {
    await setup(['--client-timeout', '300']);
    const { data, closedByServer } = await rawExchange(
      proxy.port,
      `POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n${'a'.repeat(10)}`,
      5000,
    );
    expect(closedByServer).toBe(true);
    expect(statusOf(data)).toBe(408);
    expect(codeOf(data)).toBe('REQUEST_TIMEOUT');
  });
});
