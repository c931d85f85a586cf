// Client faults, black box: slow and silent clients (--client-timeout), clients that go away mid-upload
// and mid-download, oversized heads, and pipelining (good requests answered in order, a malformed one
// refused after them, nothing after it forwarded).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawUpstream } from './helpers/backends.js';
import { getMetrics, getUpstreams, sleep, sumOf, waitFor } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';
import {
  exchange,
  expectCleanErrorBody,
  openClient,
  recordingUpstream,
  type RecordingUpstream,
} from './helpers/raw-client.js';

/** Short enough to keep the suite fast, long enough for a busy 2-core machine. */
const CLIENT_TIMEOUT = 600;

let upstream: RecordingUpstream;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await recordingUpstream();
  proxy = await startProxy([
    '--upstream',
    upstream.url,
    '--client-timeout',
    String(CLIENT_TIMEOUT),
    ...NO_PROBES,
  ]);
});

afterAll(async () => {
  await stopAllProcesses();
  await upstream.close();
});

let seq = 0;

async function expectStillServing(): Promise<void> {
  const path = `/alive-${++seq}`;
  const { responses } = await exchange(proxy.port, `GET ${path} HTTP/1.1\r\nhost: t\r\n\r\n`, {
    expectClose: false,
  });
  expect(responses.map((r) => [r.status, r.body])).toEqual([[200, `GET ${path}`]]);
}

async function inFlight(): Promise<number> {
  return (await getUpstreams(proxy.adminUrl))[0]!.inFlight;
}

describe('slow and silent clients (--client-timeout)', () => {
  it('slowloris headers: a head dripped byte by byte still gets 408 once --client-timeout has passed', async () => {
    const client = await openClient(proxy.port);
    const bytesBefore = upstream.totalBytes();
    const started = Date.now();
    const head = `GET /drip HTTP/1.1\r\nhost: t\r\n${'x-pad: 0123456789\r\n'.repeat(20)}`;
    for (let i = 0; i < head.length && !client.closed; i += 8) {
      await client.write(head.slice(i, i + 8));
      await sleep(25); // every gap far below the timeout: the timeout is for the whole head
    }
    expect(await client.waitForClose(10_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CLIENT_TIMEOUT - 50);
    const responses = client.responses();
    expect(responses.map((r) => r.status)).toEqual([408]);
    expectCleanErrorBody(responses[0]!.body, 'REQUEST_TIMEOUT');
    expect(upstream.totalBytes()).toBe(bytesBefore);
    await expectStillServing();
  });

  it('a body sent slowly but steadily is forwarded whole (the timeout is idle time between chunks)', async () => {
    const client = await openClient(proxy.port);
    const parts = 12;
    await client.write(`POST /steady HTTP/1.1\r\nhost: t\r\ncontent-length: ${parts * 10}\r\n\r\n`);
    for (let i = 0; i < parts; i++) {
      await sleep(100); // 1.2 s in all, twice the timeout; each gap a sixth of it
      await client.write(String(i % 10).repeat(10));
    }
    const responses = await client.waitForResponses(1, 10_000);
    expect(responses.map((r) => [r.status, r.body])).toEqual([[200, 'POST /steady']]);
    const seen = upstream.requests[upstream.requests.length - 1]!;
    expect(seen.body).toBe(Array.from({ length: parts }, (_, i) => String(i % 10).repeat(10)).join(''));
    client.destroy();
  });

  it('a streamed upload that stalls: 408, connection closed, the upstream request aborted', async () => {
    const connectionsBefore = upstream.connections.length;
    const requestsBefore = upstream.requests.length;
    const client = await openClient(proxy.port);
    // Over 16 KiB: streamed upstream as it arrives (not buffered first).
    await client.write(
      `POST /stall HTTP/1.1\r\nhost: t\r\ncontent-length: 300000\r\n\r\n${'a'.repeat(100_000)}`,
    );
    expect(await client.waitForClose(10_000)).toBe(true);
    const responses = client.responses();
    expect(responses.map((r) => r.status)).toEqual([408]);
    expectCleanErrorBody(responses[0]!.body, 'REQUEST_TIMEOUT');
    // The upstream got a partial request on a connection the proxy then closed; never a complete one.
    expect(upstream.requests.length).toBe(requestsBefore);
    const conn = upstream.connections
      .slice(connectionsBefore)
      .find((c) => c.bytes().toString('latin1').startsWith('POST /stall '));
    if (conn === undefined) {
      // a pooled connection carried it
      const carrier = upstream.connections.find((c) => c.bytes().includes('POST /stall '));
      expect(carrier).toBeDefined();
      await waitFor(() => carrier!.closed, 'the upstream connection to be closed');
    } else {
      await waitFor(() => conn.closed, 'the upstream connection to be closed');
    }
    await waitFor(async () => (await inFlight()) === 0, 'inFlight to return to 0');
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/stall');
    expect(log).toMatchObject({ status: 408, outcome: 'rejected', error_code: 'REQUEST_TIMEOUT' });
    await expectStillServing();
  });

  it('a small upload (known length, up to 16 KiB) that stalls: 408, and the upstream sees no byte of it', async () => {
    const allBefore = upstream.connections.map((c) => c.bytes().length);
    const connectionsBefore = upstream.connections.length;
    const client = await openClient(proxy.port);
    // Up to 16 KiB of known length: read whole before anything is sent upstream.
    await client.write(
      `POST /stall-small HTTP/1.1\r\nhost: t\r\ncontent-length: 16384\r\n\r\n${'b'.repeat(8000)}`,
    );
    expect(await client.waitForClose(10_000)).toBe(true);
    expect(client.responses().map((r) => r.status)).toEqual([408]);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/stall-small');
    expect(log).toMatchObject({ status: 408, outcome: 'rejected', error_code: 'REQUEST_TIMEOUT' });
    // What was read of the body before it stalled, and the 408 body the proxy wrote.
    expect(log).toMatchObject({ bytes_in: 8000, bytes_out: Buffer.byteLength(client.responses()[0]!.body) });
    // No upstream connection got a byte more than it had before (and no new one got any).
    expect(upstream.connections.slice(0, connectionsBefore).map((c) => c.bytes().length)).toEqual(allBefore);
    for (const c of upstream.connections.slice(connectionsBefore)) expect(c.bytes().length).toBe(0);
    await expectStillServing();
  });

  it('a connection that sends nothing is closed after --client-timeout, silently, and is not a request', async () => {
    const before = sumOf((await getMetrics(proxy.adminUrl)).samples, 'roundguard_requests_total');
    const recordsBefore = proxy.records.length;
    const client = await openClient(proxy.port);
    const started = Date.now();
    expect(await client.waitForClose(10_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CLIENT_TIMEOUT - 50);
    expect(client.data().length).toBe(0); // no unsolicited 408: a pre-connected browser would misread it
    expect(proxy.records.slice(recordsBefore).filter((r) => r.msg === 'request completed')).toEqual([]);
    expect(sumOf((await getMetrics(proxy.adminUrl)).samples, 'roundguard_requests_total')).toBe(before);
  });

  it('an idle keep-alive connection after a complete request gets no 408, and still works', async () => {
    const client = await openClient(proxy.port);
    await client.write('GET /ka1 HTTP/1.1\r\nhost: t\r\n\r\n');
    await client.waitForResponses(1);
    await sleep(CLIENT_TIMEOUT * 2); // idle: governed by the 5 s keep-alive timeout, not --client-timeout
    expect(client.closed).toBe(false);
    await client.write('GET /ka2 HTTP/1.1\r\nhost: t\r\n\r\n');
    const responses = await client.waitForResponses(2);
    expect(responses.map((r) => [r.status, r.body])).toEqual([
      [200, 'GET /ka1'],
      [200, 'GET /ka2'],
    ]);
    client.destroy();
  });
});

describe('clients that go away', () => {
  it('aborting mid-upload aborts the upstream request (its connection closes) and inFlight returns to 0', async () => {
    const requestsBefore = upstream.requests.length;
    const client = await openClient(proxy.port);
    await client.write(
      `POST /gone-up HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\n${'b'.repeat(200_000)}`,
    );
    const carrier = await waitFor(
      () => upstream.connections.find((c) => c.bytes().includes('POST /gone-up ')),
      'the upload to reach the upstream',
    );
    client.destroy();
    await waitFor(() => carrier.closed, 'the upstream connection to be closed');
    expect(upstream.requests.length).toBe(requestsBefore);
    await waitFor(async () => (await inFlight()) === 0, 'inFlight to return to 0');
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/gone-up');
    expect(log).toMatchObject({ status: 499, outcome: 'client_abort' });
    await expectStillServing();
  });

  it('aborting mid-download aborts the upstream request (its connection closes) and inFlight returns to 0', async () => {
    const slow = await rawUpstream((conn) => {
      conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n${'d'.repeat(1000)}`);
    });
    const other = await startProxy(['--upstream', slow.url, ...NO_PROBES]);
    try {
      const client = await openClient(other.port);
      await client.write('GET /gone-down HTTP/1.1\r\nhost: t\r\n\r\n');
      await waitFor(() => client.data().includes('dddd'), 'the first body bytes');
      client.destroy();
      await waitFor(() => slow.connections[0]?.closed, 'the upstream connection to be closed');
      await waitFor(
        async () => (await getUpstreams(other.adminUrl))[0]!.inFlight === 0,
        'inFlight to return to 0',
      );
      const log = await other.waitForRecord((r) => r.msg === 'request completed' && r.path === '/gone-down');
      expect(log).toMatchObject({ status: 499, outcome: 'client_abort' });
    } finally {
      await other.stop();
      await slow.close();
    }
  });
});

describe('oversized heads', () => {
  it.each([
    [
      'many headers over 16 KiB in all',
      `GET / HTTP/1.1\r\nhost: t\r\n${'x-h: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(600)}\r\n`,
    ],
    ['one header over 16 KiB', `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a request line over 16 KiB', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nhost: t\r\n\r\n`],
  ])('%s: 431, closed, nothing forwarded', async (_name, raw) => {
    const bytesBefore = upstream.totalBytes();
    const { responses, closed } = await exchange(proxy.port, raw);
    expect(responses.map((r) => r.status)).toEqual([431]);
    expectCleanErrorBody(responses[0]!.body, 'HEADERS_TOO_LARGE');
    expect(closed).toBe(true);
    expect(upstream.totalBytes()).toBe(bytesBefore);
    await expectStillServing();
  });
});

describe('pipelining', () => {
  it('three requests in one write are each forwarded once, intact, and answered in order', async () => {
    const requestsBefore = upstream.requests.length;
    const { responses, closed } = await exchange(
      proxy.port,
      'GET /p1 HTTP/1.1\r\nhost: t\r\nx-request-id: p1\r\n\r\n' +
        'POST /p2 HTTP/1.1\r\nhost: t\r\nx-request-id: p2\r\ncontent-length: 3\r\n\r\nabc' +
        'PUT /p3 HTTP/1.1\r\nhost: t\r\nx-request-id: p3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n',
      { responses: 3, expectClose: false },
    );
    expect(responses.map((r) => [r.status, r.body, r.header('x-request-id')])).toEqual([
      [200, 'GET /p1', 'p1'],
      [200, 'POST /p2', 'p2'],
      [200, 'PUT /p3', 'p3'],
    ]);
    expect(closed).toBe(false);
    const seen = upstream.requests.slice(requestsBefore);
    const byId = (id: string) => seen.find((r) => r.headerLines.includes(`x-request-id: ${id}`));
    expect(seen).toHaveLength(3);
    expect([byId('p1')?.requestLine, byId('p1')?.body]).toEqual(['GET /p1 HTTP/1.1', '']);
    expect([byId('p2')?.requestLine, byId('p2')?.body]).toEqual(['POST /p2 HTTP/1.1', 'abc']);
    expect([byId('p3')?.requestLine, byId('p3')?.body]).toEqual(['PUT /p3 HTTP/1.1', 'def']);
  });

  it.each([
    [
      'refused by the proxy (two Host headers)',
      'GET /r1 HTTP/1.1\r\nhost: t\r\nhost: u\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'refused by the proxy (a coding before chunked)',
      'POST /r1 HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      501,
      'NOT_IMPLEMENTED',
    ],
    [
      'refused by the parser (Content-Length and Transfer-Encoding)',
      'POST /r1 HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'refused by the parser (a Content-Length that smuggles a body)',
      'POST /r1 HTTP/1.1\r\nhost: t\r\ncontent-length: 1, 40\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
  ])('a request pipelined after one %s is not forwarded', async (_name, first, status, code) => {
    const bytesBefore = upstream.totalBytes();
    const { responses, closed } = await exchange(
      proxy.port,
      `${first}GET /smuggled HTTP/1.1\r\nhost: t\r\n\r\nGET /smuggled2 HTTP/1.1\r\nhost: t\r\n\r\n`,
      { responses: 3 },
    );
    expect(responses.map((r) => r.status)).toEqual([status]);
    expectCleanErrorBody(responses[0]!.body, code);
    expect(closed).toBe(true);
    await sleep(100);
    expect(upstream.totalBytes()).toBe(bytesBefore);
    await expectStillServing();
  });

  it('a malformed request pipelined behind good ones: they are answered, then it gets 400, then the connection closes; it and later ones are never forwarded', async () => {
    const requestsBefore = upstream.requests.length;
    const { responses, closed } = await exchange(
      proxy.port,
      'GET /good HTTP/1.1\r\nhost: t\r\nx-request-id: g1\r\n\r\n' +
        'POST /good2 HTTP/1.1\r\nhost: t\r\nx-request-id: g2\r\ncontent-length: 3\r\n\r\nabc' +
        'GET /bad HTTP/1.1\r\nhost: t\r\nx: a\0b\r\n\r\nGET /later HTTP/1.1\r\nhost: t\r\n\r\n',
      { responses: 4 },
    );
    expect(
      responses.map((r) => [r.status, r.body.startsWith('{') ? '' : r.body, r.header('x-request-id')]),
    ).toEqual([
      [200, 'GET /good', 'g1'],
      [200, 'POST /good2', 'g2'],
      [400, '', undefined],
    ]);
    expectCleanErrorBody(responses[2]!.body, 'BAD_REQUEST');
    expect(closed).toBe(true);
    await sleep(100);
    const seen = upstream.requests.slice(requestsBefore).map((r) => r.requestLine);
    expect(seen.sort()).toEqual(['GET /good HTTP/1.1', 'POST /good2 HTTP/1.1']);
    expect(
      upstream.connections.some((c) => c.bytes().includes('/bad ') || c.bytes().includes('/later ')),
    ).toBe(false);
    await expectStillServing();
  });

  it('a malformed request pipelined behind a slow answer waits for it, and more bytes after it change nothing', async () => {
    const slowUpstream = await recordingUpstream({ delayMs: 300 });
    const slowProxy = await startProxy(['--upstream', slowUpstream.url, ...NO_PROBES]);
    try {
      const { responses, closed } = await exchange(
        slowProxy.port,
        'GET /slow HTTP/1.1\r\nhost: t\r\nx-request-id: s1\r\n\r\nGET /bad HTTP/1.1\r\nhost: t\r\nx: a\0b\r\n\r\n' +
          'more garbage\r\n\r\n'.repeat(50),
        { responses: 3 },
      );
      expect(responses.map((r) => r.status)).toEqual([200, 400]);
      expect([responses[0]!.body, responses[0]!.header('x-request-id')]).toEqual(['GET /slow', 's1']);
      expectCleanErrorBody(responses[1]!.body, 'BAD_REQUEST');
      expect(closed).toBe(true);
      expect(slowUpstream.requests.map((r) => r.requestLine)).toEqual(['GET /slow HTTP/1.1']);
      // One record for the good request, one for the malformed one: later bytes are not accounted again.
      await slowProxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === 's1');
      await sleep(100);
      expect(slowProxy.records.filter((r) => r.msg === 'request completed')).toHaveLength(2);
      expect(slowProxy.records.filter((r) => r.outcome === 'rejected')).toHaveLength(1);
    } finally {
      await slowProxy.stop();
      await slowUpstream.close();
    }
  });
});
