import { request, type Dispatcher } from 'undici';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BalancedDispatcher, type BalancedDispatcherOptions, type DnsLookupEvent } from '../src/index.js';
import { TestDnsServer } from './helpers/dns-server.js';
import { closeAll, hasIpv6Loopback, okServer, sameportServers, waitFor } from './helpers/servers.js';

let dns: TestDnsServer;
let ipv6 = false;
const dispatchers: { destroy(): Promise<void> }[] = [];

beforeAll(async () => {
  ipv6 = await hasIpv6Loopback();
});
beforeEach(async () => {
  dns = await TestDnsServer.start();
});
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await closeAll();
  await dns.close();
});

function balanced(options: Omit<BalancedDispatcherOptions, 'dnsServers'>) {
  const lb = new BalancedDispatcher({ dnsServers: [dns.server], dnsTimeoutMs: 300, ...options });
  dispatchers.push(lb);
  const lookups: DnsLookupEvent[] = [];
  lb.on('dnsLookup', (e) => lookups.push(e));
  return { lb, lookups };
}

async function get(lb: Dispatcher): Promise<string> {
  const res = await request('http://app.internal/', { dispatcher: lb });
  const body = await res.body.text();
  return res.statusCode === 200 ? body : `${res.statusCode} ${body}`;
}

describe('dns+http://NAME:PORT', () => {
  it('makes each A and AAAA address one upstream named ADDRESS:PORT, and sends Host NAME:PORT', async () => {
    const hosts = ipv6 ? ['127.0.0.1', '127.0.0.2', '::1'] : ['127.0.0.1', '127.0.0.2'];
    const servers = await sameportServers(hosts);
    const port = servers[0]!.port;
    dns.set('api.test', {
      A: [
        { address: '127.0.0.1', ttl: 30 },
        { address: '127.0.0.2', ttl: 7 },
      ],
      AAAA: ipv6 ? [{ address: '::1', ttl: 12 }] : [],
    });
    const { lb, lookups } = balanced({ upstreams: [{ url: `dns+http://api.test:${port}`, weight: 2 }] });
    await lb.ready();
    const names = ipv6
      ? [`127.0.0.1:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`]
      : [`127.0.0.1:${port}`, `127.0.0.2:${port}`];
    expect(lb.status().map((s) => [s.name, s.url, s.weight, s.state, s.discoveredFrom])).toEqual(
      names.map((n) => [n, `http://${n}`, 2, 'up', `dns+http://api.test:${port}`]),
    );
    expect(lookups[0]).toMatchObject({
      source: `dns+http://api.test:${port}`,
      name: 'api.test',
      type: 'A/AAAA',
      result: 'ok',
      error: undefined,
      upstreams: names,
      ttl: 7,
    });
    const answers: string[] = [];
    for (let i = 0; i < hosts.length * 2; i++) answers.push(await get(lb));
    expect(answers).toEqual([...hosts, ...hosts]);
    for (const s of servers) expect(s.hosts).toEqual([`api.test:${port}`, `api.test:${port}`]);
    const withHost = await request('http://app.internal/', {
      dispatcher: lb,
      headers: { host: 'mine.test' },
    });
    await withHost.body.dump();
    expect(servers[0]!.hosts.at(-1)).toBe('mine.test');
  });

  it('holds requests sent before the first answer, then sends them', async () => {
    const [a] = await sameportServers(['127.0.0.1']);
    dns.set('api.test', { A: [{ address: '127.0.0.1' }] });
    const { lb } = balanced({ upstreams: [`dns+http://api.test:${a!.port}`] });
    expect(lb.status()).toEqual([]);
    expect(await Promise.all([get(lb), get(lb)])).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('follows a DNS change while requests flow, without a failed request', async () => {
    const servers = await sameportServers(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const port = servers[0]!.port;
    dns.set('api.test', { A: [{ address: '127.0.0.1' }, { address: '127.0.0.2' }] });
    const { lb } = balanced({
      upstreams: [`dns+http://api.test:${port}`],
      dnsRefreshMs: 150,
      healthCheck: { intervalMs: 50 },
    });
    const events: string[] = [];
    lb.on('upstreamAdded', (u) => events.push(`added ${u.name}`));
    lb.on('upstreamRemoved', (u) => events.push(`removed ${u.name}`));
    lb.on('stateChange', (e) => events.push(`${e.upstream.name} ${e.from}->${e.to}`));
    await lb.ready();
    events.length = 0;

    const answers: string[] = [];
    const failures: unknown[] = [];
    let changedAt = 0;
    let joinedAt = 0;
    const deadline = Date.now() + 15_000;
    // A bounded loop of 4 concurrent clients, until the new address served and the old one left.
    const client = async () => {
      while (Date.now() < deadline) {
        try {
          answers.push(await get(lb));
        } catch (err) {
          failures.push(err);
        }
        if (answers.length === 40 && changedAt === 0) {
          changedAt = Date.now();
          dns.set('api.test', { A: [{ address: '127.0.0.2' }, { address: '127.0.0.3' }] });
        }
        if (joinedAt === 0 && answers.at(-1) === '127.0.0.3') joinedAt = Date.now();
        if (joinedAt !== 0 && lb.status().length === 2 && answers.length > 200) return;
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    expect(failures).toEqual([]);
    expect(joinedAt).toBeGreaterThan(0);
    expect(joinedAt - changedAt).toBeLessThan(5000);
    const after = answers.slice(answers.lastIndexOf('127.0.0.1') + 1);
    expect(new Set(after)).toEqual(new Set(['127.0.0.2', '127.0.0.3']));
    expect(lb.status().map((s) => s.name)).toEqual([`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    // The old address leaves (draining first if it had requests in flight), the new one joins after
    // its first good probe; which of the two happens first depends on timing.
    expect(events[0]).toBe(`added 127.0.0.3:${port}`);
    expect(events).toContain(`removed 127.0.0.1:${port}`);
    expect(events).toContain(`127.0.0.3:${port} down->up`);
    const possible = [
      `added 127.0.0.3:${port}`,
      `127.0.0.1:${port} up->draining`,
      `removed 127.0.0.1:${port}`,
      `127.0.0.3:${port} down->up`,
    ];
    expect(events.filter((e) => !possible.includes(e))).toEqual([]);
  });

  it.each([
    ['servfail', 'ESERVFAIL'],
    ['refused', 'EREFUSED'],
    ['drop', 'ETIMEOUT'],
  ] as const)('keeps the last set when a lookup fails (%s) and reports it', async (fail, code) => {
    const [a] = await sameportServers(['127.0.0.1']);
    dns.set('api.test', { A: [{ address: '127.0.0.1' }] });
    const { lb, lookups } = balanced({
      upstreams: [`dns+http://api.test:${a!.port}`],
      dnsRefreshMs: 50,
      dnsTimeoutMs: 100,
    });
    await lb.ready();
    dns.set('api.test', { fail });
    await waitFor(() => lookups.some((l) => l.result === 'error'), 10_000, 'a failed lookup');
    const failed = lookups.find((l) => l.result === 'error');
    expect(failed).toMatchObject({ error: code, upstreams: [`127.0.0.1:${a!.port}`] });
    expect(lb.status().map((s) => [s.name, s.state])).toEqual([[`127.0.0.1:${a!.port}`, 'up']]);
    expect(await get(lb)).toBe('127.0.0.1');
  });

  it.each([
    ['NXDOMAIN', undefined],
    ['no records', {}],
  ] as const)('empties the set on an authoritative empty answer (%s)', async (_what, zone) => {
    const [a] = await sameportServers(['127.0.0.1']);
    dns.set('api.test', { A: [{ address: '127.0.0.1' }] });
    const { lb, lookups } = balanced({ upstreams: [`dns+http://api.test:${a!.port}`], dnsRefreshMs: 50 });
    await lb.ready();
    expect(await get(lb)).toBe('127.0.0.1');
    dns.set('api.test', zone);
    await waitFor(() => lb.status().length === 0, 10_000, 'the set to empty');
    expect(lookups.at(-1)).toMatchObject({ result: 'empty', upstreams: [], ttl: null });
    await expect(get(lb)).rejects.toMatchObject({
      code: 'ERR_NO_HEALTHY_UPSTREAM',
      message: 'No healthy upstream (no upstream discovered)',
    });
    dns.set('api.test', { A: [{ address: '127.0.0.1' }] });
    await waitFor(() => lb.status()[0]?.state === 'up', 10_000, 'the address to come back');
    expect(await get(lb)).toBe('127.0.0.1');
  });

  it('fails held requests when the first lookup finds nothing', async () => {
    dns.set('api.test', { fail: 'servfail' });
    const { lb, lookups } = balanced({ upstreams: ['dns+http://api.test:8080'] });
    await expect(get(lb)).rejects.toMatchObject({ code: 'ERR_NO_HEALTHY_UPSTREAM' });
    expect(lookups).toMatchObject([{ result: 'error', error: 'ESERVFAIL', upstreams: [] }]);
  });

  it('looks up every dnsRefreshMs, at the servers given', async () => {
    dns.set('api.test', { A: [{ address: '127.0.0.1' }] });
    const { lb } = balanced({
      upstreams: ['dns+http://api.test:8080'],
      dnsRefreshMs: 100,
      healthCheck: false,
    });
    await lb.ready();
    const start = dns.count('api.test');
    await new Promise((resolve) => setTimeout(resolve, 550));
    // A and AAAA per lookup: 4 to 6 lookups in 550 ms at one per 100 ms (generous for a busy machine).
    const lookupsDone = (dns.count('api.test') - start) / 2;
    expect(lookupsDone).toBeGreaterThanOrEqual(2);
    expect(lookupsDone).toBeLessThanOrEqual(6);
  });
});

describe('dnssrv+http://_SERVICE._tcp.NAME', () => {
  it('makes each SRV record one upstream named TARGET:PORT, weighted by the record', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    dns.set('_http._tcp.api.test', {
      SRV: [
        { target: 'a.api.test', port: a.port, weight: 1, priority: 10 },
        { target: 'b.api.test', port: b.port, weight: 3, priority: 10 },
        { target: 'backup.api.test', port: 9, weight: 100, priority: 20 },
      ],
    });
    dns.set('a.api.test', { A: [{ address: '127.0.0.1', ttl: 20 }] });
    dns.set('b.api.test', { A: [{ address: '127.0.0.1', ttl: 10 }] });
    const { lb, lookups } = balanced({
      upstreams: ['dnssrv+http://_http._tcp.api.test'],
      healthCheck: false,
    });
    await lb.ready();
    expect(lb.status().map((s) => [s.name, s.url, s.weight, s.discoveredFrom])).toEqual([
      [`a.api.test:${a.port}`, `http://a.api.test:${a.port}`, 1, 'dnssrv+http://_http._tcp.api.test'],
      [`b.api.test:${b.port}`, `http://b.api.test:${b.port}`, 3, 'dnssrv+http://_http._tcp.api.test'],
    ]);
    expect(lookups[0]).toMatchObject({ type: 'SRV', name: '_http._tcp.api.test', result: 'ok', ttl: 10 });
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push(await get(lb));
    expect(answers.filter((x) => x === 'a')).toHaveLength(2);
    expect(answers.filter((x) => x === 'b')).toHaveLength(6);
    expect(a.hosts[0]).toBe(`a.api.test:${a.port}`);
    expect(b.hosts[0]).toBe(`b.api.test:${b.port}`);
  });

  it('probes each target at its address with its name as Host, and follows record changes', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    dns.set('_http._tcp.api.test', { SRV: [{ target: 'a.api.test', port: a.port, weight: 1 }] });
    dns.set('a.api.test', { A: [{ address: '127.0.0.1' }] });
    dns.set('b.api.test', { A: [{ address: '127.0.0.1' }] });
    const { lb } = balanced({
      upstreams: ['dnssrv+http://_http._tcp.api.test'],
      dnsRefreshMs: 100,
      healthCheck: { intervalMs: 40 },
    });
    await lb.ready();
    await waitFor(() => a.hits.health > 0, 5000, 'a probe of a');
    dns.set('_http._tcp.api.test', {
      SRV: [
        { target: 'a.api.test', port: a.port, weight: 5 },
        { target: 'b.api.test', port: b.port, weight: 1 },
      ],
    });
    await waitFor(
      () => lb.status().some((s) => s.name === `b.api.test:${b.port}` && s.state === 'up'),
      10_000,
      'b joins',
    );
    expect(lb.status().map((s) => s.weight)).toEqual([5, 1]);
    expect(b.hits.health).toBeGreaterThan(0);
    dns.set('_http._tcp.api.test', undefined);
    await waitFor(() => lb.status().length === 0, 10_000, 'the set to empty');
  });
});

describe('setUpstreams with discovery URLs', () => {
  it('starts new sources, whose upstreams join after a good probe, and drops removed ones', async () => {
    const [s1] = await sameportServers(['127.0.0.1']);
    const port = s1!.port;
    dns.set('one.test', { A: [{ address: '127.0.0.1' }] });
    const fixed = await okServer('fixed');
    const { lb } = balanced({ upstreams: [fixed.url], healthCheck: { intervalMs: 40 } });
    lb.setUpstreams([fixed.url, `dns+http://one.test:${port}`]);
    await waitFor(() => lb.status().length === 2, 10_000, 'discovered');
    // A probe every 40 ms may already have put it up by the time it is seen: it is up only once a
    // good probe was recorded.
    const joined = lb.status()[1];
    expect(joined).toMatchObject({ name: `127.0.0.1:${port}` });
    if (joined?.state !== 'down') expect(joined).toMatchObject({ state: 'up', lastProbeResult: 'ok' });
    await waitFor(() => lb.status()[1]?.state === 'up', 10_000, 'first good probe');
    expect(lb.status()[1]).toMatchObject({ lastProbeResult: 'ok' });
    lb.setUpstreams([fixed.url]);
    await waitFor(() => lb.status().length === 1, 10_000, 'dropped');
    expect(lb.status()[0]?.name).toBe(fixed.name);
  });
});
