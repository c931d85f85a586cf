// Resources and shutdown: after a burst of failing (refused, reset, timed out) and aborted (client gone
// mid-upload, mid-download, while waiting) requests, the proxy's open descriptors and the connections
// its upstreams see return to their baseline; on SIGTERM, connections that carry no request (silent, half
// a head, idle keep-alive) are closed at once, in-flight requests (an upload still being sent included)
// finish with `Connection: close`, and the process exits 0 well before --drain-timeout.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend, rawUpstream } from './helpers/backends.js';
import { getMetrics, getUpstreams, request, sleep, sumOf, waitFor } from './helpers/http.js';
import { fdCount, openConnections, openProbe, parseRaw } from './helpers/hardening.js';
import { NO_PROBES, startProxy, stopAllProcesses } from './helpers/processes.js';

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

/** Starts a request and destroys it after `ms`, before its answer came. */
function abortedWait(url: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(() => setTimeout(() => req.destroy(), ms));
  });
}

/** Starts a request and destroys it once `bytes` of the response arrived. */
function abortedDownload(url: string, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => {
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= bytes) req.destroy();
      });
    });
    req.end();
  });
}

/** Starts an upload of `declared` bytes and destroys it after `sent` bytes. */
function abortedUpload(url: string, declared: number, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': String(declared), 'content-type': 'application/octet-stream' },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(Buffer.alloc(sent, 0x62), () => setTimeout(() => req.destroy(), 20));
  });
}

describe('descriptors and upstream connections after failing and aborted requests', () => {
  it('return to their baseline within a generous wait', async () => {
    let uploaded = 0;
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/hang') return void req.resume(); // never answers: 504 after --headers-timeout
      if (req.url === '/upload') return void req.on('data', (c: Buffer) => (uploaded += c.length));
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 0x63);
        const pump = (): void => {
          while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
        };
        return pump();
      }
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const resetter = await rawUpstream((conn) => conn.socket.resetAndDestroy());
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      '--upstream',
      resetter.url,
      '--upstream',
      dead,
      '--headers-timeout',
      '300',
      ...NO_PROBES,
    ]);
    // Baseline: the proxy at rest, before it ever connected upstream.
    await sleep(200);
    const baseline = fdCount(proxy.pid);

    const burst: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      // Round-robin over backend / resetter / dead: 502 refused (once, then dead is out), 502 reset,
      // 504 timeout, 200; and the client-side aborts on whichever upstream they land.
      burst.push(request(`${proxy.url}/hang`).catch(() => undefined));
      burst.push(request(`${proxy.url}/x`, { method: 'POST', body: 'y' }).catch(() => undefined));
      burst.push(abortedUpload(`${proxy.url}/upload`, 4 * 1024 * 1024, 256 * 1024));
      burst.push(abortedDownload(`${proxy.url}/endless`, 256 * 1024));
      burst.push(abortedWait(`${proxy.url}/hang`, 100));
    }
    await Promise.all(burst);
    expect(uploaded).toBeGreaterThan(0);

    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_requests_total', { code: '504' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'roundguard_requests_total', { code: '502' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'roundguard_requests_total', { outcome: 'client_abort' })).toBeGreaterThan(0);

    // Everything settles: nothing in flight, no upstream connection left once the pools' idle
    // keep-alive timeout (4 s) has passed, and the proxy holds no more descriptors than at rest.
    await waitFor(
      async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.inFlight === 0),
      'nothing in flight',
      15_000,
    );
    await waitFor(
      async () => (await openConnections(backend.server)) === 0,
      'no connection at the backend',
      15_000,
      100,
    );
    await waitFor(() => resetter.open === 0, 'no connection at the resetting upstream', 15_000, 100);
    // The admin requests above use a connection each (closed by the client): allow for one in passing.
    await waitFor(() => fdCount(proxy.pid) <= baseline + 1, `descriptors back to ${baseline}`, 15_000, 100);
    expect(backend.inFlight).toBe(0);
    const after = await getMetrics(proxy.adminUrl);
    expect(sumOf(after.samples, 'roundguard_requests_in_flight')).toBe(0);
    // And the proxy still serves.
    // (dead left the rotation at its first refusal; backend and resetter alternate)
    const statuses = [];
    for (let i = 0; i < 2; i++)
      statuses.push((await request(`${proxy.url}/ok`, { method: 'POST', body: 'z' })).status);
    expect(statuses.sort()).toEqual([200, 502]);
    expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  });
});

describe('SIGTERM with connections in every state', () => {
  it('closes silent, half-head and idle connections at once, finishes in-flight requests (an upload too) with Connection: close, refuses new ones, exits 0 well before --drain-timeout', async () => {
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const answer = (): void => void res.end(`answered ${req.url} ${body.length}`);
        if (req.url === '/slow') setTimeout(answer, 1500);
        else answer();
      });
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES, '--drain-timeout', '8000']);

    const silent = await openProbe(proxy.port);
    const halfHead = await openProbe(proxy.port, 'GET /half HTTP/1.1\r\nhost: t\r\n');
    const idle = await openProbe(proxy.port, 'GET /idle HTTP/1.1\r\nhost: t\r\n\r\n');
    await waitFor(() => idle.data().includes('answered /idle'), 'the keep-alive answer');
    const slow = await openProbe(proxy.port, 'GET /slow HTTP/1.1\r\nhost: t\r\n\r\n');
    // An upload of 200 KB, half of it sent before the signal, the rest after.
    const upload = await openProbe(
      proxy.port,
      `POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 200000\r\n\r\n`,
    );
    upload.socket.write(Buffer.alloc(100_000, 0x61));
    await waitFor(() => backend.inFlight === 2, 'the slow request and the upload at the upstream');

    const signalledAt = Date.now();
    const exited = proxy.stop('SIGTERM');
    await proxy.waitForRecord((r) => r.msg === 'draining');
    // Connections that carry no request are closed at once (long before the slow answer comes).
    await Promise.all([silent.closed, halfHead.closed, idle.closed]);
    expect(Date.now() - signalledAt).toBeLessThan(1200);
    expect(silent.data()).toBe('');
    expect(halfHead.data()).toBe('');
    expect(slow.isClosed).toBe(false);
    // The listener is closed: a new connection is refused.
    const refused = await new Promise<string>((resolve) => {
      const s = connect({ port: proxy.port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    upload.socket.write(Buffer.alloc(100_000, 0x61));
    await Promise.all([slow.closed, upload.closed]);
    const slowRes = parseRaw(slow.data());
    expect(slowRes.status).toBe(200);
    expect(slowRes.body).toBe('answered /slow 0');
    expect(slowRes.headers.connection).toBe('close');
    const uploadRes = parseRaw(upload.data());
    expect(uploadRes.status).toBe(200);
    expect(uploadRes.body).toBe('answered /upload 200000');
    expect(uploadRes.headers.connection).toBe('close');

    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(6000);
    expect(proxy.records.some((r) => r.msg === 'drain timeout: closing remaining connections')).toBe(false);
    expect(proxy.records.some((r) => r.msg === 'stopped')).toBe(true);
  });

  it('exits 0 at once on SIGTERM when only silent connections are open', async () => {
    const backend = await httpBackend((_req, res) => res.end('ok'));
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES, '--drain-timeout', '8000']);
    const probes = await Promise.all(Array.from({ length: 5 }, () => openProbe(proxy.port)));
    const started = Date.now();
    expect(await proxy.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(4000);
    await Promise.all(probes.map((p) => p.closed));
  });
});
