// The admin write API with --workers 2: the primary owns it, and a change is answered once every worker
// applied it. Requests on fresh connections are spread over both workers by the cluster, so a worker that
// had not applied a change would still send some of them the old way.
import { afterAll, expect, it } from 'vitest';
import { api, closeAllBackends, holdingBackend, spread, TOKEN } from './helpers/admin-api.js';
import { getMetrics, getUpstreams, postJson, sumOf, waitFor } from './helpers/http.js';
import { startProxy, stopAllProcesses } from './helpers/processes.js';

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

it('applies drain, weight, POST and DELETE in every worker before answering, and reports the merged state', async () => {
  const [a, b, c] = await Promise.all([holdingBackend('A'), holdingBackend('B'), holdingBackend('C')]);
  const proxy = await startProxy(
    ['--workers', '2', '--upstream', a.url, '--upstream', b.url, '--health-interval', '100'],
    { env: { ROUNDGUARD_ADMIN_TOKEN: TOKEN } },
  );
  const nameA = `127.0.0.1:${a.port}`;
  await waitFor(async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.state === 'up'), 'up');
  const both = await spread(proxy.url, 20);
  expect((both.A ?? 0) + (both.B ?? 0)).toBe(20);

  // Drain A: no worker sends it anything from the answer on.
  const drained = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameA}`, { state: 'drain' });
  expect(drained.status).toBe(200);
  expect(drained.json()).toMatchObject({ name: nameA, state: 'draining', adminState: 'drain' });
  expect(await spread(proxy.url, 20)).toEqual({ B: 20 });

  // Back, with weight 0 then 3: every worker uses the weight it was given.
  await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameA}`, { state: 'ready', weight: 0 });
  await waitFor(async () => (await getUpstreams(proxy.adminUrl))[0]?.state === 'up', 'A up');
  expect(await spread(proxy.url, 20)).toEqual({ B: 20 });
  await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameA}`, { weight: 3 });
  const weighted = await spread(proxy.url, 40);
  // Each worker splits its share 3:1; the cluster hands connections to the workers in turn.
  expect(weighted.A).toBeGreaterThanOrEqual(26);
  expect(weighted.A).toBeLessThanOrEqual(34);

  // POST: C joins every worker after its first good probe; DELETE: B leaves every worker.
  expect((await api(proxy.adminUrl, 'POST', '/upstreams', { url: c.url, name: 'c' })).status).toBe(201);
  await waitFor(
    async () => (await getUpstreams(proxy.adminUrl)).find((u) => u.name === 'c')?.state === 'up',
    'c up',
  );
  // A request held on B in some worker: B stays listed (draining) until that worker is done with it.
  const held: Promise<unknown>[] = [];
  for (let i = 0; i < 20 && b.held === 0; i++) {
    const total = a.held + b.held + c.held;
    held.push(postJson(`${proxy.url}/hold`, { i }));
    await waitFor(() => a.held + b.held + c.held > total, 'the request held');
  }
  expect(b.held).toBe(1);
  const nameB = `127.0.0.1:${b.port}`;
  expect((await api(proxy.adminUrl, 'DELETE', `/upstreams/${nameB}`)).status).toBe(202);
  expect((await getUpstreams(proxy.adminUrl)).find((u) => u.name === nameB)).toMatchObject({
    state: 'draining',
    inFlight: 1,
  });
  await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameA}`, { weight: 1 });
  const after = await spread(proxy.url, 20);
  // Each worker alternates A and C; the cluster may give one worker a connection more than the other.
  expect(Object.keys(after).sort()).toEqual(['A', 'C']);
  expect(Math.abs((after.A ?? 0) - 10)).toBeLessThanOrEqual(1);
  for (const x of [a, b, c]) x.release();
  await Promise.all(held);
  await waitFor(
    async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.name !== nameB),
    'B gone once its request is done',
  );

  // The merged view: counts from both workers, and the metric of every change.
  const list = await getUpstreams(proxy.adminUrl);
  expect(list.map((u) => u.name)).toEqual([nameA, 'c']);
  expect(list.find((u) => u.name === 'c')?.requests).toBe(c.count);
  const { samples } = await getMetrics(proxy.adminUrl);
  expect(sumOf(samples, 'roundguard_admin_changes_total')).toBe(7);
  expect(proxy.records.filter((r) => r.msg === 'upstream changed' && r.role === 'primary')).toHaveLength(7);
  expect(proxy.stdout()).not.toContain(TOKEN);

  const exit = await proxy.stop('SIGTERM');
  expect(exit.code).toBe(0);
});
