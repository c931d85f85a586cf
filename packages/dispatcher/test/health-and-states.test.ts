import { createServer } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BalancedDispatcher, type BalancedDispatcherOptions, type UpstreamStatus } from '../src/index.js';
import {
  closeAll,
  errorServer,
  okServer,
  slowServer,
  startServer,
  waitFor,
  type TestServer,
} from './helpers/servers.js';

const dispatchers: { destroy(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await closeAll();
});

function balanced(options: BalancedDispatcherOptions): BalancedDispatcher {
  const lb = new BalancedDispatcher(options);
  dispatchers.push(lb);
  return lb;
}

async function get(lb: Dispatcher): Promise<string> {
  const res = await request('http://app.internal/', { dispatcher: lb });
  const body = await res.body.text();
  return res.statusCode === 200 ? body : `${res.statusCode} ${body}`;
}

function statusOf(lb: BalancedDispatcher, name: string): UpstreamStatus {
  const found = lb.status().find((s) => s.name === name);
  if (found === undefined) throw new Error(`no upstream ${name}`);
  return found;
}

/** An upstream whose /health answers 200 while `healthy.value` is true, else 503. */
async function toggled(name: string): Promise<{ server: TestServer; healthy: { value: boolean } }> {
  const healthy = { value: true };
  const server = await startServer(
    (req, res) => {
      req.resume();
      res.setHeader('x-upstream', name);
      res.end(name);
    },
    {
      health: (_req, res) => {
        res.statusCode = healthy.value ? 200 : 503;
        res.end();
      },
    },
  );
  return { server, healthy };
}

/** Listens again on `port` (after the upstream there was closed). */
async function listenAgain(port: number, name: string): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    req.resume();
    res.setHeader('x-upstream', name);
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

describe('active health checks', () => {
  it('takes an upstream out on a failed probe and back on the first good one, with events and status', async () => {
    const a = await toggled('a');
    const b = await okServer('b');
    const lb = balanced({
      upstreams: [a.server.url, b.url],
      healthCheck: { intervalMs: 40, timeoutMs: 1000 },
    });
    const events: string[] = [];
    lb.on('down', (e) => events.push(`down ${e.upstream.name} ${e.cause} ${e.reason}`));
    lb.on('up', (e) => events.push(`up ${e.upstream.name} ${e.cause}`));
    lb.on('stateChange', (e) => events.push(`state ${e.upstream.name} ${e.from}->${e.to}`));
    const probes: string[] = [];
    lb.on('probe', (e) => probes.push(`${e.upstream.name} ${e.result}${e.error ? ` ${e.error}` : ''}`));

    await waitFor(() => probes.includes(`${a.server.name} ok`), 5000, 'a first probe');
    a.healthy.value = false;
    await waitFor(() => statusOf(lb, a.server.name).state === 'down', 5000, 'a down');
    expect(statusOf(lb, a.server.name)).toMatchObject({
      healthy: false,
      lastProbeResult: 'bad_status',
      lastError: 'HTTP 503',
    });
    expect(statusOf(lb, a.server.name).lastProbeAt).toBeGreaterThan(Date.now() - 5000);
    const trafficBefore = a.server.hits.traffic;
    expect([await get(lb), await get(lb), await get(lb)]).toEqual(['b', 'b', 'b']);
    expect(a.server.hits.traffic).toBe(trafficBefore);

    a.healthy.value = true;
    await waitFor(() => statusOf(lb, a.server.name).state === 'up', 5000, 'a up');
    expect(statusOf(lb, a.server.name)).toMatchObject({
      healthy: true,
      lastProbeResult: 'ok',
      lastError: null,
    });
    const picks = [await get(lb), await get(lb)].sort();
    expect(picks).toEqual(['a', 'b']);
    expect(events).toEqual([
      `down ${a.server.name} probe HTTP 503`,
      `state ${a.server.name} up->down`,
      `up ${a.server.name} probe`,
      `state ${a.server.name} down->up`,
    ]);
    expect(probes).toContain(`${a.server.name} bad_status HTTP 503`);
  });

  it('honours fall and rise: two failed probes in a row to leave, two good ones to come back', async () => {
    const a = await toggled('a');
    const lb = balanced({ upstreams: [a.server.url], healthCheck: { intervalMs: 30, rise: 2, fall: 2 } });
    const log: string[] = [];
    lb.on('probe', (e) => log.push(e.result));
    lb.on('down', () => log.push('DOWN'));
    lb.on('up', () => log.push('UP'));
    await waitFor(() => log.length > 0, 5000, 'a probe');
    a.healthy.value = false;
    await waitFor(() => log.includes('DOWN'), 5000, 'down');
    a.healthy.value = true;
    await waitFor(() => log.includes('UP'), 5000, 'up');
    const sequence = log.join(' ');
    expect(sequence).toMatch(/^(ok )*bad_status bad_status DOWN (bad_status )*ok ok UP$/);
  });

  it('takes an upstream out at once on a connect failure, until its next good probe', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    const lb = balanced({ upstreams: [a.url, b.url], healthCheck: { intervalMs: 600 } });
    const events: string[] = [];
    lb.on('down', (e) => events.push(`down ${e.upstream.name} ${e.cause} ${e.reason}`));
    lb.on('up', (e) => events.push(`up ${e.upstream.name} ${e.cause}`));
    const probed: string[] = [];
    lb.on('probe', (e) => probed.push(e.upstream.name));
    await waitFor(() => probed.includes(a.name), 5000, 'first probe of a');
    const port = a.port;
    await a.close();
    await expect(get(lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(events).toEqual([`down ${a.name} connect_failure ECONNREFUSED`]);
    expect(statusOf(lb, a.name)).toMatchObject({ state: 'down', healthy: false, lastError: 'ECONNREFUSED' });
    expect([await get(lb), await get(lb)]).toEqual(['b', 'b']);
    const stop = await listenAgain(port, 'a');
    try {
      await waitFor(() => statusOf(lb, a.name).state === 'up', 5000, 'a back');
      expect(events).toEqual([`down ${a.name} connect_failure ECONNREFUSED`, `up ${a.name} probe`]);
      expect([await get(lb), await get(lb)].sort()).toEqual(['a', 'b']);
    } finally {
      await stop();
    }
  });

  it('without health checks, a connect failure keeps the upstream out for baseEjectionMs', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    const lb = balanced({
      upstreams: [a.url, b.url],
      healthCheck: false,
      outlierDetection: { baseEjectionMs: 400 },
    });
    const events: string[] = [];
    lb.on('down', (e) => events.push(`down ${e.cause}`));
    lb.on('up', (e) => events.push(`up ${e.cause}`));
    const port = a.port;
    await a.close();
    const downAt = Date.now();
    await expect(get(lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const stop = await listenAgain(port, 'a');
    try {
      expect(await get(lb)).toBe('b');
      await waitFor(() => statusOf(lb, a.name).state === 'up', 5000, 'a back');
      expect(Date.now() - downAt).toBeGreaterThanOrEqual(390);
      expect(events).toEqual(['down connect_failure', 'up timer']);
      expect([await get(lb), await get(lb)].sort()).toEqual(['a', 'b']);
    } finally {
      await stop();
    }
  });
});

describe('outlier detection over time', () => {
  it('restores after the ejection time, and ejects for twice as long the second time', async () => {
    const bad = await errorServer();
    const good = await okServer('good');
    const lb = balanced({
      upstreams: [bad.url, good.url],
      healthCheck: false,
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 300 },
    });
    const events: string[] = [];
    lb.on('ejected', (e) => events.push(`ejected ${e.durationMs} #${e.ejections}`));
    lb.on('restored', (e) => events.push(`restored ${e.reason}`));
    expect([await get(lb), await get(lb), await get(lb), await get(lb)]).toEqual([
      '500 boom',
      'good',
      '500 boom',
      'good',
    ]);
    expect(statusOf(lb, bad.name).state).toBe('ejected');
    expect([await get(lb), await get(lb)]).toEqual(['good', 'good']);
    await waitFor(() => statusOf(lb, bad.name).state === 'up', 5000, 'restored');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await get(lb));
    expect(results.filter((r) => r === '500 boom')).toHaveLength(2);
    expect(statusOf(lb, bad.name)).toMatchObject({ state: 'ejected', ejections: 2, failures: 4 });
    expect(events).toEqual(['ejected 300 #1', 'restored ejection time over', 'ejected 600 #2']);
  });

  it('never ejects more than maxEjectionPercent of the upstreams', async () => {
    const servers = await Promise.all([errorServer(), errorServer(), errorServer()]);
    const lb = balanced({
      upstreams: servers.map((s) => s.url),
      healthCheck: false,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
    });
    for (let i = 0; i < 12; i++) await get(lb);
    expect(
      lb
        .status()
        .map((s) => s.state)
        .sort(),
    ).toEqual(['ejected', 'up', 'up']);
  });
});

describe('administrative states', () => {
  it('drain: no new requests, requests in flight finish, probes go on', async () => {
    const a = await slowServer('a', 300);
    const b = await okServer('b');
    const lb = balanced({ upstreams: [a.url, b.url], healthCheck: { intervalMs: 30 } });
    const inFlight = get(lb);
    await waitFor(() => statusOf(lb, a.name).inFlight === 1, 5000, 'request on a');
    expect(lb.setState(a.name, 'drain')).toMatchObject({
      state: 'draining',
      adminState: 'drain',
      inFlight: 1,
    });
    expect([await get(lb), await get(lb), await get(lb)]).toEqual(['b', 'b', 'b']);
    expect(await inFlight).toBe('a');
    const probes = a.hits.health;
    await waitFor(() => a.hits.health > probes + 1, 5000, 'probes of a drained upstream');
    expect(lb.setState(a.name, 'ready').state).toBe('up');
    expect([await get(lb), await get(lb)].sort()).toEqual(['a', 'b']);
  });

  it('maint: no requests, no probes; back to ready, it takes traffic after its first good probe', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    const lb = balanced({ upstreams: [a.url, b.url], healthCheck: { intervalMs: 30 } });
    const states: string[] = [];
    lb.on('stateChange', (e) => states.push(`${e.from}->${e.to}`));
    await waitFor(() => a.hits.health > 0, 5000, 'first probe');
    lb.setState(a.name, 'maint');
    await new Promise((resolve) => setTimeout(resolve, 60));
    const probes = a.hits.health;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.hits.health).toBe(probes);
    expect([await get(lb), await get(lb)]).toEqual(['b', 'b']);
    expect(lb.setState(a.name, 'ready')).toMatchObject({ state: 'down', adminState: 'ready' });
    expect(await get(lb)).toBe('b');
    await waitFor(() => statusOf(lb, a.name).state === 'up', 5000, 'a back');
    expect(a.hits.health).toBeGreaterThan(probes);
    expect(states).toEqual(['up->maint', 'maint->down', 'down->up']);
  });

  it('setWeight changes the share at once; weight 0 takes no requests', async () => {
    const a = await okServer('a');
    const b = await okServer('b');
    const lb = balanced({ upstreams: [a.url, b.url], healthCheck: false, outlierDetection: false });
    expect(lb.setWeight(a.name, 0)).toMatchObject({ weight: 0, state: 'up' });
    expect(lb.upstreams()[0]?.weight).toBe(0);
    expect([await get(lb), await get(lb)]).toEqual(['b', 'b']);
    lb.setWeight(a.name, 3);
    const picks: string[] = [];
    for (let i = 0; i < 8; i++) picks.push(await get(lb));
    expect(picks.filter((p) => p === 'a')).toHaveLength(6);
  });
});

describe('setUpstreams', () => {
  it('adds upstreams after their first good probe, drains removed ones, keeps the others', async () => {
    const a = await slowServer('a', 300);
    const b = await okServer('b');
    const c = await okServer('c');
    const lb = balanced({ upstreams: [a.url, b.url], healthCheck: { intervalMs: 40 } });
    const events: string[] = [];
    lb.on('upstreamAdded', (u) => events.push(`added ${u.name === c.name ? 'c' : u.name}`));
    lb.on('upstreamRemoved', (u) => events.push(`removed ${u.name === a.name ? 'a' : u.name}`));
    expect(await get(lb)).toBe('a');
    expect(await get(lb)).toBe('b');
    const inFlight = get(lb);
    await waitFor(() => statusOf(lb, a.name).inFlight === 1, 5000, 'request on a');

    lb.setUpstreams([b.url, c.url]);
    expect(lb.status().map((s) => [s.name, s.state])).toEqual([
      [b.name, 'up'],
      [c.name, 'down'],
      [a.name, 'draining'],
    ]);
    expect(statusOf(lb, b.name).requests).toBe(1);
    expect(await get(lb)).toBe('b');
    expect(await inFlight).toBe('a');
    expect(lb.status().map((s) => s.name)).toEqual([b.name, c.name]);
    await waitFor(() => statusOf(lb, c.name).state === 'up', 5000, 'c joins');
    expect([await get(lb), await get(lb)].sort()).toEqual(['b', 'c']);
    expect(events).toEqual(['added c', 'removed a']);
  });

  it('gives a name to a new URL: the old upstream leaves at once, its requests in flight finish', async () => {
    const a = await slowServer('a', 200);
    const b = await okServer('b');
    const lb = balanced({ upstreams: [{ url: a.url, name: 'orders' }], healthCheck: false });
    const removed: string[] = [];
    lb.on('upstreamRemoved', (u) => removed.push(u.url));
    const inFlight = get(lb);
    await waitFor(() => a.hits.traffic === 1, 5000, 'request on a');
    lb.setUpstreams([{ url: b.url, name: 'orders' }]);
    expect(lb.status().map((s) => [s.name, s.url, s.state])).toEqual([['orders', b.url, 'up']]);
    expect(removed).toEqual([a.url]);
    expect(await get(lb)).toBe('b');
    expect(await inFlight).toBe('a');
  });
});
