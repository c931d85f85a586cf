// Signals end to end: SIGTERM/SIGINT drain (in-flight requests finish with `Connection: close`, new
// connections are refused, idle ones closed, exit 0; bounded by --drain-timeout) and SIGHUP swaps the
// upstream set from the config file under load without losing a request.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend } from './helpers/backends.js';
import { getUpstreams, postJson, request, sleep, waitFor, type Response } from './helpers/http.js';
import { startEcho, startProxy, stopAllProcesses } from './helpers/processes.js';

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
    await waitFor(
      () => outcomes.filter((o) => o.startedAt > swappedAt).length >= 40,
      '40 requests after the swap',
    );
    running = false;
    await Promise.all(workers);

    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const after = outcomes.filter((o) => o.startedAt > swappedAt);
    expect(new Set(after.map((o) => o.name))).toEqual(new Set(['B', 'C']));
    expect(a.inFlight).toBe(0);
    const upstreams = await getUpstreams(proxy.adminUrl);
    expect(upstreams.map((u) => u.url)).toEqual([b.url, c.url]);
    // C came in healthy and stays in rotation.
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
