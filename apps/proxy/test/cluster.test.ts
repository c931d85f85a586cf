// --workers N (node:cluster): the primary owns the probes and the upstream state and pushes health to
// the workers; every worker forwards. Real processes, real backends.
import { afterEach, expect, it } from 'vitest';
import { closeAllBackends, httpBackend, type HttpBackend } from './helpers/backends.js';
import { getMetrics, postJson, sleep, sumOf, waitForHealth } from './helpers/http.js';
import { childrenOf, commandLineOf, NO_PROBES, startProxy, stopAllProcesses } from './helpers/processes.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

function named(name: string): Promise<HttpBackend> {
  return httpBackend((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end('{}');
    });
  });
}

const probes = (b: HttpBackend) => b.seen.filter((r) => r.url === '/health').length;

it('forwards with 2 workers, probes once per interval from the primary, and spreads health to every worker', async () => {
  const backends = await Promise.all([named('A'), named('B'), named('C')]);
  const proxy = await startProxy([
    '--workers',
    '2',
    '--health-interval',
    '300',
    '--health-timeout',
    '250',
    ...backends.flatMap((b) => ['--upstream', b.url]),
  ]);
  expect(proxy.listening).toMatchObject({ workers: 2 });

  // Each worker rotates on its own over the upstreams: every upstream gets its share within one pick per worker.
  const counts: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const res = await postJson(`${proxy.url}/w`, { i });
    expect(res.status).toBe(200);
    const name = String(res.headers['x-backend']);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  for (const name of ['A', 'B', 'C']) expect(Math.abs((counts[name] ?? 0) - 10)).toBeLessThanOrEqual(2);

  // Probes are not multiplied by the workers: over 1.5 s at a 300 ms interval one prober makes at most ~6.
  const before = probes(backends[0]);
  await sleep(1500);
  expect(probes(backends[0]) - before).toBeLessThanOrEqual(7);

  // A failed probe in the primary takes B out of every worker's rotation.
  backends[1].healthy = false;
  await waitForHealth(proxy.adminUrl, backends[1].url, false);
  const countB = backends[1].count;
  for (let i = 0; i < 12; i++) expect((await postJson(`${proxy.url}/w`, { i })).status).toBe(200);
  expect(backends[1].count).toBe(countB);

  // /metrics on the primary aggregates the workers' counters.
  const { samples } = await getMetrics(proxy.adminUrl);
  expect(sumOf(samples, 'roundguard_requests_total')).toBe(42);

  const exit = await proxy.stop('SIGTERM');
  expect(exit.code).toBe(0);
});

it('logs draining and then stopped for the primary and for every worker on SIGTERM, as one process does', async () => {
  const backend = await named('A');
  const proxy = await startProxy(['--workers', '2', '--upstream', backend.url, ...NO_PROBES]);
  expect((await postJson(`${proxy.url}/w`, {})).status).toBe(200);
  const exit = await proxy.stop('SIGTERM');
  expect(exit.code).toBe(0);
  const lifecycle = (role: string, msg: string) =>
    proxy.records.filter((r) => r.role === role && r.msg === msg).map((r) => r.pid);
  expect(lifecycle('primary', 'draining')).toHaveLength(1);
  expect(lifecycle('primary', 'stopped')).toEqual([proxy.listening.pid]);
  expect(lifecycle('worker', 'draining')).toHaveLength(2);
  const workers = lifecycle('worker', 'stopped');
  expect(workers).toHaveLength(2);
  expect(new Set(workers).size).toBe(2);
  expect(workers).not.toContain(proxy.listening.pid);
  // The primary stops last, once every worker has.
  const last = proxy.records.filter((r) => r.msg === 'stopped').at(-1);
  expect(last).toMatchObject({ role: 'primary', signal: 'SIGTERM' });
});

it('starts its workers with a 2 MiB young generation, unless NODE_OPTIONS sizes it', async () => {
  const backend = await named('A');
  const proxy = await startProxy(['--workers', '2', '--upstream', backend.url, ...NO_PROBES], {
    env: { NODE_OPTIONS: '' },
  });
  const workers = childrenOf(proxy.listening.pid as number).map(commandLineOf);
  expect(workers).toHaveLength(2);
  for (const argv of workers) expect(argv).toContain('--max-semi-space-size=2');
  expect((await postJson(`${proxy.url}/w`, {})).status).toBe(200);
  await proxy.stop('SIGTERM');

  // The user's own size wins: the workers inherit NODE_OPTIONS and get no option of ours on top.
  const sized = await startProxy(['--workers', '2', '--upstream', backend.url, ...NO_PROBES], {
    env: { NODE_OPTIONS: '--max-semi-space-size=8' },
  });
  const sizedWorkers = childrenOf(sized.listening.pid as number).map(commandLineOf);
  expect(sizedWorkers).toHaveLength(2);
  for (const argv of sizedWorkers) expect(argv.some((a) => a.includes('semi-space'))).toBe(false);
  expect((await postJson(`${sized.url}/w`, {})).status).toBe(200);
});
