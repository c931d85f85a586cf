// --workers N with the dispatcher: the primary's /upstreams and metrics merge what the workers see
// (requests, failures, ejections), and a connect failure in one worker takes the upstream out in all.
import { afterEach, expect, it } from 'vitest';
import { closeAllBackends, closedPort, namedBackend } from './helpers/backends.js';
import { getMetrics, getUpstreams, request, sumOf, waitFor } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses } from './helpers/processes.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

it('reports an upstream ejected by a worker, with the requests and failures of every worker', async () => {
  const [a, b] = await Promise.all([namedBackend('A'), namedBackend('B', 500)]);
  const proxy = await startProxy([
    '--workers',
    '2',
    '--upstream',
    a.url,
    '--upstream',
    b.url,
    '--eject-after',
    '2',
    '--eject-time',
    '60000',
    ...NO_PROBES,
  ]);
  let sent = 0;
  await waitFor(async () => {
    for (let i = 0; i < 4; i++, sent++) await request(`${proxy.url}/x`);
    return (await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url)?.state === 'ejected';
  }, 'B ejected by a worker');
  const report = await getUpstreams(proxy.adminUrl);
  const rb = report.find((u) => u.url === b.url);
  const ra = report.find((u) => u.url === a.url);
  expect(typeof rb?.ejectedUntil).toBe('string');
  expect(rb?.failures).toBe(b.count);
  expect(rb?.requests).toBe(b.count);
  expect(Number(ra?.requests) + Number(rb?.requests)).toBe(sent);
  expect(ra).toMatchObject({ state: 'up', ejectedUntil: null, failures: 0 });
  const { samples } = await getMetrics(proxy.adminUrl);
  expect(sumOf(samples, 'roundguard_upstream_state', { upstream: b.url, state: 'ejected' })).toBe(1);
  expect(sumOf(samples, 'roundguard_upstream_state', { upstream: a.url, state: 'up' })).toBe(1);
  expect(sumOf(samples, 'roundguard_upstream_ejections_total', { upstream: b.url })).toBeGreaterThanOrEqual(
    1,
  );
  expect(proxy.records.some((r) => r.msg === 'upstream ejected' && r.role === 'worker')).toBe(true);
  expect((await request(`${proxy.adminUrl}/readyz`)).status).toBe(200);
});

it('takes an upstream that refused a connection in one worker out of every worker', async () => {
  const a = await namedBackend('A');
  const refusing = `http://127.0.0.1:${await closedPort()}`;
  const proxy = await startProxy([
    '--workers',
    '2',
    '--upstream',
    a.url,
    '--upstream',
    refusing,
    ...NO_PROBES,
  ]);
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) statuses.push((await request(`${proxy.url}/x`)).status);
  // At most one 502 per worker before the primary's word arrives; then none.
  expect(statuses.filter((s) => s === 502).length).toBeGreaterThanOrEqual(1);
  expect(statuses.filter((s) => s === 502).length).toBeLessThanOrEqual(2);
  expect(statuses.slice(-10)).toEqual(Array(10).fill(200));
  expect((await getUpstreams(proxy.adminUrl)).find((u) => u.url === refusing)).toMatchObject({
    state: 'down',
    healthy: false,
    lastError: 'ECONNREFUSED',
  });
  const down = await proxy.waitForRecord((r) => r.msg === 'upstream down' && r.upstream === refusing);
  expect(down).toMatchObject({ level: 'warn', role: 'primary', reason: 'ECONNREFUSED' });
});
