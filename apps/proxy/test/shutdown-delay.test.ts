// --shutdown-delay end to end, on the real proxy process, alone and with --workers 2: on SIGTERM
// `/readyz` answers 503 at once while requests (on new and on keep-alive connections) are still served
// as before; once the delay is over the drain runs as without one. A bounded load from clients that act
// as the load balancer in front of a Kubernetes pod does (they stop opening connections to the instance
// shortly after it is seen not ready, and retry a request that a closing keep-alive connection lost on a
// new connection, elsewhere) loses no request over the whole sequence. A second signal ends the delay.
import { Agent, request as httpRequest, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend } from './helpers/backends.js';
import { request, sleep, waitFor } from './helpers/http.js';
import { childrenOf, NO_PROBES, startProxy, stopAllProcesses, type LogRecord } from './helpers/processes.js';

const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await stopAllProcesses();
  await closeAllBackends();
});

/** The delay under test: long enough for a busy machine to poll /readyz and act on it well within. */
const DELAY_MS = 3000;
/** How long the load balancer takes to stop sending new connections once it saw /readyz fail. */
const PROPAGATION_MS = 300;

type Outcome =
  | {
      kind: 'answered';
      status: number;
      close: boolean;
      newConnection: boolean;
      keepAlive: boolean;
      at: number;
    }
  | { kind: 'rerouted'; at: number }
  | { kind: 'lost'; error: string; at: number };

/** One GET; a request lost by a reused keep-alive connection that closed under it is `rerouted`. */
function get(url: string, agent: Agent | false): Promise<Outcome> {
  return new Promise((resolve) => {
    let req: ClientRequest | undefined = undefined;
    req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('error', (err) => resolve({ kind: 'lost', error: String(err), at: Date.now() }));
      res.on('end', () =>
        resolve({
          kind: 'answered',
          status: res.statusCode ?? 0,
          close: res.headers.connection === 'close',
          newConnection: req?.reusedSocket !== true,
          keepAlive: agent !== false,
          at: Date.now(),
        }),
      );
    });
    req.setTimeout(20_000, () => req?.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Node's advice for keep-alive clients: a request on a reused socket that the server closed
      // before it read the request is safe to send again, on a new connection.
      const reused = req?.reusedSocket === true && ['ECONNRESET', 'EPIPE'].includes(err.code ?? '');
      resolve(
        reused ? { kind: 'rerouted', at: Date.now() } : { kind: 'lost', error: String(err), at: Date.now() },
      );
    });
    req.end();
  });
}

function hasFreeSocket(agent: Agent): boolean {
  return Object.values(agent.freeSockets).some((list) => (list?.length ?? 0) > 0);
}

/**
 * The load balancer and its clients: polls `/readyz`; `PROPAGATION_MS` after the first 503 it sends no
 * new connection to this instance. Keep-alive clients go on using the connection they hold (as clients
 * of a Service do) until it closes; one-shot clients open a connection per request.
 */
function loadBalancedTraffic(proxyUrl: string, adminUrl: string) {
  const outcomes: Outcome[] = [];
  const lb = { notReadyAt: 0, removedAt: 0, done: false };
  const watcher = (async () => {
    while (lb.removedAt === 0 && !lb.done) {
      const ready = await request(`${adminUrl}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 503 && lb.notReadyAt === 0) {
        lb.notReadyAt = Date.now();
        setTimeout(() => (lb.removedAt = Date.now()), PROPAGATION_MS);
      }
      await sleep(100);
    }
  })();
  const keepAliveClient = async (): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    for (let i = 0; i < 2000 && !lb.done; i++) {
      if (lb.removedAt !== 0 && !hasFreeSocket(agent)) return; // the next request would open a connection
      const outcome = await get(`${proxyUrl}/work`, agent);
      outcomes.push(outcome);
      if (outcome.kind === 'rerouted' && lb.removedAt !== 0) return;
      await sleep(10); // lets the answered socket go back to the agent's free list
    }
  };
  const oneShotClient = async (): Promise<void> => {
    for (let i = 0; i < 2000 && lb.removedAt === 0 && !lb.done; i++) {
      outcomes.push(await get(`${proxyUrl}/work`, false));
      await sleep(20);
    }
  };
  const clients = Promise.all([
    ...Array.from({ length: 4 }, keepAliveClient),
    ...Array.from({ length: 2 }, oneShotClient),
  ]);
  return {
    outcomes,
    lb,
    async finish(): Promise<void> {
      await clients;
      lb.done = true;
      await watcher;
    },
  };
}

function timeOf(record: LogRecord): number {
  return Date.parse(record.time as string);
}

describe.each([
  ['one process', []],
  ['--workers 2', ['--workers', '2']],
] as const)('--shutdown-delay (%s)', (_name, extraArgs) => {
  it('answers /readyz 503 at once, serves on for the delay, then drains; no request is lost', async () => {
    const backend = await httpBackend((req, res) => {
      req.resume();
      const delay = req.url === '/long' ? 2000 : 5;
      setTimeout(() => res.end('done'), delay);
    });
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      ...NO_PROBES,
      '--shutdown-delay',
      String(DELAY_MS),
      '--drain-timeout',
      '10000',
      ...extraArgs,
    ]);
    expect((await request(`${proxy.adminUrl}/readyz`)).status).toBe(200);
    const traffic = loadBalancedTraffic(proxy.url, proxy.adminUrl);
    await waitFor(() => traffic.outcomes.length >= 50, 'traffic before the signal', 20_000);

    proxy.child.kill('SIGTERM');
    const shuttingDown = await proxy.waitForRecord((r) => r.msg === 'shutting down');
    expect(shuttingDown).toMatchObject({ signal: 'SIGTERM', shutdown_delay_ms: DELAY_MS });
    const readyz = await request(`${proxy.adminUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.json()).toMatchObject({ status: 'shutting down' });

    // During the delay: a new connection, and two requests on one keep-alive connection, served as before.
    const fresh = await request(`${proxy.url}/fresh`);
    expect(fresh.status).toBe(200);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const first = await get(`${proxy.url}/ka`, agent);
    await sleep(20);
    const second = await get(`${proxy.url}/ka`, agent);
    expect(first).toMatchObject({ kind: 'answered', status: 200, close: false });
    expect(second).toMatchObject({ kind: 'answered', status: 200, close: false, newConnection: false });
    // A long request still running when the drain starts: it finishes, with Connection: close.
    await sleep(DELAY_MS - 1500);
    const long = get(`${proxy.url}/long`, false);

    const draining = await proxy.waitForRecord((r) => r.msg === 'draining', DELAY_MS + 15_000);
    expect(timeOf(draining) - timeOf(shuttingDown)).toBeGreaterThanOrEqual(DELAY_MS - 50);
    await proxy.exited;
    // Workers drain when the primary's delay is over, without a delay of their own.
    for (const record of proxy.records.filter((r) => r.msg === 'draining'))
      expect(timeOf(record) - timeOf(shuttingDown)).toBeLessThan(2 * DELAY_MS - 500);
    expect(await long).toMatchObject({ kind: 'answered', status: 200, close: true });
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
    await traffic.finish();

    const { outcomes, lb } = traffic;
    expect(outcomes.filter((o) => o.kind === 'lost')).toEqual([]);
    const answered = outcomes.filter((o) => o.kind === 'answered');
    expect(answered.filter((o) => o.status !== 200)).toEqual([]);
    // Served while the instance was not ready, new connections among them.
    const duringDelay = answered.filter((o) => o.at > lb.notReadyAt && o.at < timeOf(draining));
    expect(lb.notReadyAt).toBeGreaterThan(0);
    expect(duringDelay.length).toBeGreaterThan(0);
    expect(duringDelay.some((o) => o.newConnection)).toBe(true);
    // Keep-alive clients are served as usual (a one-shot client asks for Connection: close itself).
    expect(duringDelay.filter((o) => o.close && o.keepAlive)).toEqual([]);
    const stopped = proxy.records.filter((r) => r.msg === 'stopped');
    expect(stopped.length).toBe(extraArgs.length === 0 ? 1 : 3);
  }, 90_000);

  it('ends the delay at a second SIGTERM: the drain starts at once', async () => {
    const backend = await httpBackend((req, res) => {
      req.resume();
      res.end('done');
    });
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      ...NO_PROBES,
      '--shutdown-delay',
      '600000',
      ...extraArgs,
    ]);
    proxy.child.kill('SIGTERM');
    await proxy.waitForRecord((r) => r.msg === 'shutting down');
    expect((await request(`${proxy.adminUrl}/readyz`)).status).toBe(503);
    expect((await request(`${proxy.url}/still`)).status).toBe(200);
    proxy.child.kill('SIGINT');
    const cut = await proxy.waitForRecord((r) => r.msg === 'shutdown delay cut short', 15_000);
    expect(cut).toMatchObject({ signal: 'SIGTERM', by: 'SIGINT' });
    await proxy.waitForRecord((r) => r.msg === 'draining', 15_000);
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe.skipIf(process.platform !== 'linux')(
  '--shutdown-delay with --workers 2, signal to every process',
  () => {
    it('makes one delay, not two, when the primary and the workers all get SIGTERM (as Ctrl-C does)', async () => {
      const backend = await httpBackend((req, res) => {
        req.resume();
        res.end('done');
      });
      const proxy = await startProxy([
        '--upstream',
        backend.url,
        ...NO_PROBES,
        '--shutdown-delay',
        String(DELAY_MS),
        '--workers',
        '2',
      ]);
      const workers = childrenOf(proxy.pid);
      expect(workers).toHaveLength(2);
      const signalledAt = Date.now();
      for (const pid of [proxy.pid, ...workers]) process.kill(pid, 'SIGTERM');
      await waitFor(
        () => proxy.records.filter((r) => r.msg === 'shutting down').length === 3,
        'every process to start its delay',
      );
      // Every process serves on through the delay.
      expect((await request(`${proxy.url}/during`)).status).toBe(200);
      expect(await proxy.exited).toEqual({ code: 0, signal: null });
      const drainings = proxy.records.filter((r) => r.msg === 'draining');
      expect(drainings).toHaveLength(3);
      for (const record of drainings) {
        const after = timeOf(record) - signalledAt;
        expect(after).toBeGreaterThanOrEqual(DELAY_MS - 100);
        expect(after).toBeLessThan(2 * DELAY_MS - 200);
      }
    }, 60_000);
  },
);

describe('without --shutdown-delay', () => {
  it('drains at once on SIGTERM, as before', async () => {
    const backend = await httpBackend((req, res) => {
      req.resume();
      res.end('done');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    expect((await request(`${proxy.url}/x`)).status).toBe(200);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
    expect(proxy.records.some((r) => r.msg === 'shutting down')).toBe(false);
    expect(proxy.records.map((r) => r.msg).filter((m) => m === 'draining' || m === 'stopped')).toEqual([
      'draining',
      'stopped',
    ]);
  });
});
