// DNS discovery end to end: the proxy follows `dns+http://NAME:PORT` through a real DNS server on
// loopback whose answers change while requests flow. The backends share one port on 127.0.0.2-4.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { TestDnsServer } from '../../../packages/dispatcher/test/helpers/dns-server.js';
import { getMetrics, getUpstreams, request, sleep, sumOf, waitFor } from './helpers/http.js';
import { startProxy, stopAllProcesses } from './helpers/processes.js';

const servers: Server[] = [];
let dns: TestDnsServer | undefined;

afterEach(async () => {
  await stopAllProcesses();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await dns?.close();
  dns = undefined;
});

/** A backend on `host`:`port` that answers with its address; `/health` answers 200. */
function listenOn(host: string, port: number, hits: Map<string, number[]>): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    req.resume();
    if (req.url === '/health') return void res.end('ok');
    const list = hits.get(host) ?? [];
    list.push(Date.now());
    hits.set(host, list);
    res.writeHead(200, { 'x-backend': host }).end(host);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      servers.push(server);
      resolve(server);
    });
  });
}

/** Three backends on 127.0.0.2, .3 and .4, all on one port. */
async function backendsOnOnePort(hits: Map<string, number[]>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const first = await listenOn('127.0.0.2', 0, hits);
    const port = (first.address() as AddressInfo).port;
    try {
      await listenOn('127.0.0.3', port, hits);
      await listenOn('127.0.0.4', port, hits);
      return port;
    } catch (err) {
      if (attempt >= 5) throw err;
      for (const server of servers.splice(0)) server.close();
    }
  }
}

it('follows a DNS change (a backend added, one removed) within one refresh interval, without a failed request', async () => {
  const hits = new Map<string, number[]>();
  const port = await backendsOnOnePort(hits);
  dns = await TestDnsServer.start();
  dns.set('svc.test', {
    A: [
      { address: '127.0.0.2', ttl: 1 },
      { address: '127.0.0.3', ttl: 1 },
    ],
  });
  const refreshMs = 500;
  const source = `dns+http://svc.test:${port}`;
  const proxy = await startProxy([
    '--upstream',
    source,
    '--dns-server',
    dns.server,
    '--dns-refresh',
    String(refreshMs),
    '--health-interval',
    '100',
    '--health-timeout',
    '500',
  ]);
  expect(proxy.listening).toMatchObject({ upstreams: [source] });

  const failures: string[] = [];
  let running = true;
  const load = async (): Promise<void> => {
    while (running) {
      try {
        const res = await request(`${proxy.url}/flow`);
        if (res.status !== 200) failures.push(`${res.status} ${res.text()}`);
      } catch (err) {
        failures.push(String(err));
      }
      await sleep(5);
    }
  };
  const loops = [load(), load()];

  await waitFor(
    () => (hits.get('127.0.0.2')?.length ?? 0) >= 5 && (hits.get('127.0.0.3')?.length ?? 0) >= 5,
    'traffic to .2 and .3',
  );
  expect(hits.get('127.0.0.4')).toBeUndefined();
  const before = await getUpstreams(proxy.adminUrl);
  expect(before.map((u) => [u.name, u.state, u.discoveredFrom])).toEqual([
    [`127.0.0.2:${port}`, 'up', source],
    [`127.0.0.3:${port}`, 'up', source],
  ]);

  dns.set('svc.test', {
    A: [
      { address: '127.0.0.3', ttl: 1 },
      { address: '127.0.0.4', ttl: 1 },
    ],
  });
  const changedAt = Date.now();
  // One refresh interval, plus the new backend's first probe, plus slack for a busy machine.
  await waitFor(() => (hits.get('127.0.0.4')?.length ?? 0) >= 5, 'traffic to .4', 10_000);
  const firstHitOfNew = (hits.get('127.0.0.4') as number[])[0] as number;
  expect(firstHitOfNew - changedAt).toBeLessThan(refreshMs + 100 + 2500);
  await waitFor(
    async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.name !== `127.0.0.2:${port}`),
    '.2 to leave the set',
  );
  const gone = Date.now();
  const lastOfOld = Math.max(...(hits.get('127.0.0.2') as number[]));
  expect(lastOfOld - changedAt).toBeLessThan(refreshMs + 2500);
  await sleep(300);
  running = false;
  await Promise.all(loops);

  expect(failures).toEqual([]);
  expect((hits.get('127.0.0.2') as number[]).filter((t) => t > gone)).toEqual([]);
  const after = await getUpstreams(proxy.adminUrl);
  expect(after.map((u) => [u.name, u.state, u.discoveredFrom])).toEqual([
    [`127.0.0.3:${port}`, 'up', source],
    [`127.0.0.4:${port}`, 'up', source],
  ]);
  const { samples } = await getMetrics(proxy.adminUrl);
  expect(sumOf(samples, 'roundguard_dns_lookups_total', { name: 'svc.test', result: 'ok' })).toBeGreaterThan(
    1,
  );
  expect(sumOf(samples, 'roundguard_dns_lookups_total', { name: 'svc.test', result: 'error' })).toBe(0);
  // The removed address's series are gone; the new one has its own.
  expect(sumOf(samples, 'roundguard_requests_total', { upstream: `http://127.0.0.2:${port}` })).toBe(0);
  expect(
    sumOf(samples, 'roundguard_requests_total', { upstream: `http://127.0.0.4:${port}` }),
  ).toBeGreaterThan(0);
});

it('keeps the last known upstreams when a lookup fails, and logs the failure at warn', async () => {
  const hits = new Map<string, number[]>();
  const port = await backendsOnOnePort(hits);
  dns = await TestDnsServer.start();
  dns.set('svc.test', { A: [{ address: '127.0.0.2' }] });
  const proxy = await startProxy([
    '--upstream',
    `dns+http://svc.test:${port}`,
    '--dns-server',
    dns.server,
    '--dns-refresh',
    '200',
  ]);
  expect((await request(`${proxy.url}/a`)).status).toBe(200);
  dns.set('svc.test', { fail: 'servfail' });
  const failed = await proxy.waitForRecord(
    (r) => r.msg === 'dns lookup failed; keeping the last known upstreams',
  );
  expect(failed).toMatchObject({ level: 'warn', dns_name: 'svc.test', error: 'ESERVFAIL' });
  const res = await request(`${proxy.url}/b`);
  expect(res.status).toBe(200);
  expect(res.headers['x-backend']).toBe('127.0.0.2');
  const { samples } = await getMetrics(proxy.adminUrl);
  expect(
    sumOf(samples, 'roundguard_dns_lookups_total', { name: 'svc.test', result: 'error' }),
  ).toBeGreaterThan(0);
});
