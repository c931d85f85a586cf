// Signals end to end: SIGTERM/SIGINT drain (in-flight requests finish with `Connection: close`, new
// connections are refused, idle ones closed, exit 0; bounded by --drain-timeout), also with connections
// in every state (silent, half a head, idle keep-alive, an upload still being sent), and SIGHUP swaps the
// upstream set from the config file under load without losing a request.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend } from './helpers/backends.js';
import { openProbe, parseRaw } from './helpers/hardening.js';
import { getUpstreams, postJson, request, type Response, sleep, waitFor } from './helpers/http.js';
import { NO_PROBES, startEcho, startProxy, stopAllProcesses } from './helpers/processes.js';

const agents: Agent[] = [];
function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  agents.push(agent);
  return agent;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await stopAllProcesses();
  await closeAllBackends();
});

/** Answers `/slow` after `delayMs`, anything else at once; `/hang` never. */
function slowHandler(delayMs: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    if (req.url === '/hang') return;
    const answer = (): void => {
      if (!res.destroyed) res.end(`answered ${req.url}`);
    };
    if (req.url?.startsWith('/slow')) setTimeout(answer, delayMs);
    else answer();
  };
}

/** Connects to 127.0.0.1:port; resolves with the error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

function configFile(value: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'roundguard-lifecycle-')), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('SIGTERM / SIGINT', () => {
  it('lets in-flight requests finish with Connection: close, refuses new connections, closes idle ones, exits 0', async () => {
    const backend = await httpBackend(slowHandler(800));
    const proxy = await startProxy(['--upstream', backend.url, '--health-interval', '2000000000']);

    // An idle keep-alive connection: it must be closed by the drain, not left waiting.
    const idleAgent = keepAliveAgent();
    let idleSocket: Socket | undefined;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${proxy.url}/fast`, { agent: idleAgent }, (res) => {
        idleSocket = res.socket;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const idleClosed = new Promise<void>((resolve) => idleSocket!.once('close', () => resolve()));

    const agent = keepAliveAgent();
    // Settled into values at once: a failure is asserted below, never an unhandled rejection.
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      request(`${proxy.url}/slow?i=${i}`, { agent }).catch((err: Error) => err),
    );
    await waitFor(() => backend.inFlight === 5, 'five requests in flight at the upstream');

    const exited = proxy.stop('SIGTERM');
    const draining = await proxy.waitForRecord((r) => r.msg === 'draining');
    expect(draining).toMatchObject({ signal: 'SIGTERM', in_flight: 5 });
    // Stopped accepting: new connections are refused while the old requests are still running.
    await waitFor(
      async () => (await tryConnect(proxy.port)) === 'ECONNREFUSED',
      'new connections to be refused',
      2000,
    );
    expect(backend.inFlight).toBe(5);

    const responses = await Promise.all(inFlight);
    for (const [i, res] of responses.entries()) {
      if (res instanceof Error) throw res;
      expect(res.status).toBe(200);
      expect(res.text()).toBe(`answered /slow?i=${i}`);
      expect(res.headers.connection).toBe('close');
    }
    await idleClosed;
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(proxy.records.some((r) => r.msg === 'stopped')).toBe(true);
    expect(
      proxy.accessLog().filter((r) => String(r.path).startsWith('/slow') && r.status === 200),
    ).toHaveLength(5);
    expect(await tryConnect(proxy.port)).toBe('ECONNREFUSED');
  });

  it('closes what is left after --drain-timeout and still exits 0', async () => {
    const backend = await httpBackend(slowHandler(0));
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      '--health-interval',
      '2000000000',
      '--drain-timeout',
      '400',
    ]);
    const hanging = request(`${proxy.url}/hang`).then(
      (res) => `answered ${res.status}`,
      () => 'cut',
    );
    await waitFor(() => backend.inFlight === 1, 'the request to reach the upstream');
    const started = Date.now();
    expect(await proxy.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(await hanging).toBe('cut');
    expect(proxy.records.some((r) => r.msg === 'stopped')).toBe(true);
    await waitFor(() => backend.inFlight === 0, 'the upstream request to be closed');
  });

  it('drains on SIGINT too', async () => {
    const backend = await httpBackend(slowHandler(500));
    const proxy = await startProxy(['--upstream', backend.url, '--health-interval', '2000000000']);
    const pending = request(`${proxy.url}/slow`).catch((err: Error) => err);
    await waitFor(() => backend.inFlight === 1, 'the request to reach the upstream');
    const exited = proxy.stop('SIGINT');
    const res = await pending;
    if (res instanceof Error) throw res;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(await exited).toEqual({ code: 0, signal: null });
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

describe('SIGHUP', () => {
  it('swaps the upstream set under load without losing a request; afterwards only the new set gets traffic', async () => {
    // A answers slowly, so that requests to it are in flight when it is removed.
    const a = await httpBackend((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'x-echo-name': 'A' }).end('{}'), 150);
    });
    const [b, c] = await Promise.all([startEcho({ name: 'B' }), startEcho({ name: 'C' })]);
    const file = configFile({ upstreams: [{ url: a.url }, { url: b.url }] });
    const proxy = await startProxy(['--config', file, '--health-interval', '200', '--health-timeout', '150']);

    interface Outcome {
      startedAt: number;
      name: string;
      status: number;
      error?: string;
    }
    const outcomes: Outcome[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      const agent = keepAliveAgent();
      while (running) {
        const startedAt = Date.now();
        try {
          const res: Response = await postJson(`${proxy.url}/load`, { at: startedAt }, {}, agent);
          outcomes.push({ startedAt, status: res.status, name: String(res.headers['x-echo-name']) });
        } catch (err) {
          outcomes.push({ startedAt, status: 0, name: '', error: String(err) });
        }
      }
    };
    const workers = Array.from({ length: 6 }, () => worker());

    await waitFor(
      () =>
        outcomes.filter((o) => o.name === 'A').length >= 5 &&
        outcomes.filter((o) => o.name === 'B').length >= 5,
      'traffic to A and B',
    );
    await waitFor(() => a.inFlight > 0, 'a request in flight at A', 5000, 1);
    writeFileSync(file, JSON.stringify({ upstreams: [{ url: b.url }, { url: c.url }] }));
    proxy.child.kill('SIGHUP');
    const reloaded = await proxy.waitForRecord((r) => r.msg === 'config reloaded');
    const swappedAt = Date.now();
    expect(reloaded).toMatchObject({ upstreams: [b.url, c.url], removed: [a.url] });
    // C is new: it takes traffic after its first good probe, which comes within one probe interval.
    await waitFor(() => {
      const after = outcomes.filter((o) => o.startedAt > swappedAt);
      return after.length >= 40 && after.some((o) => o.name === 'C');
    }, '40 requests after the swap, some of them served by C');
    running = false;
    await Promise.all(workers);

    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const after = outcomes.filter((o) => o.startedAt > swappedAt);
    expect(new Set(after.map((o) => o.name))).toEqual(new Set(['B', 'C']));
    expect(a.inFlight).toBe(0);
    const upstreams = await getUpstreams(proxy.adminUrl);
    expect(upstreams.map((u) => u.url)).toEqual([b.url, c.url]);
    // C passed its first probe and stays in rotation.
    expect(upstreams.every((u) => u.healthy)).toBe(true);
    expect(proxy.child.exitCode).toBeNull();
  });

  it('keeps the current upstreams when the reloaded file is bad', async () => {
    const [a, b] = await Promise.all([startEcho({ name: 'A' }), startEcho({ name: 'B' })]);
    const file = configFile({ upstreams: [a.url, b.url] });
    const proxy = await startProxy(['--config', file]);
    writeFileSync(file, '{"upstreams": [ "ftp://nope" ]}');
    proxy.child.kill('SIGHUP');
    const failed = await proxy.waitForRecord((r) => String(r.msg).startsWith('config reload failed'));
    expect(failed.level).toBe('error');
    expect(JSON.stringify(failed)).toContain('ftp://nope');
    writeFileSync(file, '{ not json');
    proxy.child.kill('SIGHUP');
    await waitFor(
      () => proxy.records.filter((r) => String(r.msg).startsWith('config reload failed')).length === 2,
      'a second reload failure',
    );
    expect((await getUpstreams(proxy.adminUrl)).map((u) => u.url)).toEqual([a.url, b.url]);
    const names = [];
    for (let i = 0; i < 4; i++) names.push((await postJson(`${proxy.url}/`)).headers['x-echo-name']);
    expect(names.sort()).toEqual(['A', 'A', 'B', 'B']);
  });

  it('ignores SIGHUP (and keeps running) when the upstreams come from flags', async () => {
    const a = await startEcho({ name: 'A' });
    const proxy = await startProxy(['--upstream', a.url]);
    proxy.child.kill('SIGHUP');
    const ignored = await proxy.waitForRecord((r) => String(r.msg).startsWith('SIGHUP ignored'));
    expect(ignored.level).toBe('warn');
    await sleep(100);
    expect(proxy.child.exitCode).toBeNull();
    expect((await postJson(`${proxy.url}/`)).status).toBe(200);
  });
});
