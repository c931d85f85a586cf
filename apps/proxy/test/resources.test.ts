// Resources: after a burst of failing (refused, reset, timed out) and aborted (client gone mid-upload,
// mid-download, while waiting) requests, the proxy's open descriptors and the connections its upstreams
// see return to their baseline; after many odd requests no upstream pool is stuck and nothing is left in
// flight.
import { type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllBackends,
  closedPort,
  type HttpBackend,
  httpBackend,
  rawUpstream,
} from './helpers/backends.js';
import { fdCount, openConnections, type Reflected, reflectingBackend } from './helpers/hardening.js';
import {
  getMetrics,
  getUpstreams,
  postJson,
  rawExchange,
  request,
  sleep,
  sumOf,
  waitFor,
} from './helpers/http.js';
import { NO_PROBES, type ProxyProcess, startProxy, stopAllProcesses } from './helpers/processes.js';

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

describe('through three reflecting upstreams', () => {
  let backends: HttpBackend[];
  let proxy: ProxyProcess;

  beforeAll(async () => {
    backends = await Promise.all(['A', 'B', 'C'].map((name) => reflectingBackend(name)));
    proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
  });

  const CLOSE = 'connection: close\r\n';

  describe('after many odd requests', () => {
    it('serves ordinary requests on every upstream at once: no pool stuck, nothing left in flight', async () => {
      const odd: (string | Buffer)[] = [
        `GET /%00 HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
        `GET /${'x'.repeat(8000)} HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
        `POST /e HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 2\r\n${CLOSE}\r\nhi`,
        `POST /e HTTP/1.1\r\nhost: t\r\nexpect: foo\r\ncontent-length: 2\r\n${CLOSE}\r\nhi`,
        `POST /c HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n0\r\n\r\n`,
        `POST /c HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n`,
        `GET /u HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`,
        `GET /k HTTP/1.1\r\nhost: t\r\nkeep-alive: timeout=1\r\n${CLOSE}\r\n`,
        `GET /a b HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
        `GET /h HTTP/1.1\r\nhost: t\r\nx-a: a\x00b\r\n${CLOSE}\r\n`,
        `POST /cl HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n${CLOSE}\r\nab`,
        `POST /short HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\nabc`, // the client goes away mid-body
        `OPTIONS * HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
        `CONNECT t:443 HTTP/1.1\r\nhost: t:443\r\n\r\n`,
        `GET http://t/abs HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
        Buffer.from(`GET /obs HTTP/1.1\r\nhost: t\r\nx-o: \xe9\xff\r\n${CLOSE}\r\n`, 'latin1'),
      ];
      const statuses: number[] = [];
      const total = 208;
      for (let i = 0; i < total; i += 16) {
        await Promise.all(
          odd.map(async (bytes, j) => {
            // The keep-alive ones are closed by the client after a short while (it does not wait for the
            // proxy's keep-alive timeout); the mid-body one is abandoned.
            const { data } = await rawExchange(proxy.port, bytes, j === 11 ? 100 : j === 6 ? 400 : 5000);
            statuses.push(data === '' ? 0 : Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? -1));
          }),
        );
      }
      expect(statuses).toHaveLength(total);
      expect(statuses).not.toContain(502);
      expect(statuses).not.toContain(-1);

      // Every upstream answers an ordinary request at once, and the proxy holds nothing in flight.
      const started = Date.now();
      const names = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const res = await postJson(`${proxy.url}/ordinary`, { i });
        expect(res.status).toBe(200);
        names.add(res.json<Reflected>().name);
      }
      expect(names).toEqual(new Set(['A', 'B', 'C']));
      expect(Date.now() - started).toBeLessThan(5000);
      const upstreams = await getUpstreams(proxy.adminUrl);
      expect(upstreams.map((u) => [u.healthy, u.inFlight])).toEqual([
        [true, 0],
        [true, 0],
        [true, 0],
      ]);
      const { samples } = await getMetrics(proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_requests_in_flight')).toBe(0);
      expect(sumOf(samples, 'roundguard_requests_total', { outcome: 'upstream_error' })).toBe(0);
      expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(0);
    });
  });
});
