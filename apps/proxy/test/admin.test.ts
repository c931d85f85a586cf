// The admin server end to end (/healthz, /readyz, /upstreams, 404/405), /metrics checked by promtool and
// against the number of requests sent, and the access log: one JSON record per request with every field.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort } from './helpers/backends.js';
import {
  findPromtool,
  getMetrics,
  getUpstreams,
  rawExchange,
  request,
  sumOf,
  waitFor,
  waitForHealth,
  type Response,
  type Sample,
} from './helpers/http.js';
import {
  startEcho,
  startProxy,
  stopAllProcesses,
  type EchoProcess,
  type ProxyProcess,
} from './helpers/processes.js';

let a: EchoProcess;
let b: EchoProcess;
let deadUrl: string;
let proxy: ProxyProcess;

/** Every request the tests of this file send through the proxy, with what the client saw. */
const sent: {
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  id: string;
}[] = [];

async function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await request(`${proxy.url}${path}`, {
    method,
    body,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
  });
  sent.push({
    method,
    path: path.split('?')[0] as string,
    status: res.status,
    bytesIn: body === undefined ? 0 : Buffer.byteLength(body),
    bytesOut: res.body.length,
    id: res.headers['x-request-id'] as string,
  });
  return res;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startEcho({ name: 'A' }), startEcho({ name: 'B' })]);
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
  proxy = await startProxy([
    '--upstream',
    a.url,
    '--upstream',
    b.url,
    '--upstream',
    deadUrl,
    '--health-interval',
    '200',
    '--health-timeout',
    '150',
  ]);
  // The dead upstream leaves the rotation at its first probe; every request below goes to A or B.
  await waitForHealth(proxy.adminUrl, deadUrl, false);
  await waitFor(
    async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.lastProbe !== null),
    'a probe of every upstream',
  );
});

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

describe('admin endpoints', () => {
  it('listens on 127.0.0.1 by default', () => {
    expect(proxy.listening.admin_host).toBe('127.0.0.1');
  });

  it('GET /healthz answers 200 while the process runs', async () => {
    const res = await request(`${proxy.adminUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    const head = await request(`${proxy.adminUrl}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('GET /readyz answers 200 when at least one upstream is in rotation', async () => {
    const res = await request(`${proxy.adminUrl}/readyz`);
    expect(res.status).toBe(200);
  });

  it('GET /upstreams reports url, weight, healthy, inFlight, lastProbe and lastError of each', async () => {
    const res = await request(`${proxy.adminUrl}/upstreams`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const list = res.json<{ upstreams: Record<string, unknown>[] }>().upstreams;
    expect(list.map((u) => u.url)).toEqual([a.url, b.url, deadUrl]);
    for (const u of list) {
      expect(u).toMatchObject({ weight: 1, inFlight: 0 });
      expect(typeof u.healthy).toBe('boolean');
      expect(new Date(u.lastProbe as string).toISOString()).toBe(u.lastProbe);
      expect(Date.now() - Date.parse(u.lastProbe as string)).toBeLessThan(60_000);
    }
    expect(list[0]).toMatchObject({ healthy: true, lastError: null });
    expect(list[1]).toMatchObject({ healthy: true, lastError: null });
    expect(list[2]).toMatchObject({ healthy: false });
    expect(list[2]!.lastError).toMatch(/ECONNREFUSED/);
  });

  it('answers 404 NOT_FOUND to other paths, forwarding nothing', async () => {
    const res = await request(`${proxy.adminUrl}/some/path`);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    const root = await request(`${proxy.adminUrl}/`);
    expect(root.status).toBe(404);
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow to other methods', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/upstreams']) {
      const res = await request(`${proxy.adminUrl}${path}`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: expect.any(String) } });
    }
    expect((await request(`${proxy.adminUrl}/upstreams`, { method: 'DELETE' })).status).toBe(405);
  });

  it('GET /readyz answers 503 when no upstream is in rotation', async () => {
    const port = await closedPort();
    const lonely = await startProxy([
      '--upstream',
      `http://127.0.0.1:${port}`,
      '--health-interval',
      '200',
      '--health-timeout',
      '150',
    ]);
    await waitForHealth(lonely.adminUrl, `http://127.0.0.1:${port}`, false);
    const res = await request(`${lonely.adminUrl}/readyz`);
    expect(res.status).toBe(503);
    expect((await request(`${lonely.adminUrl}/healthz`)).status).toBe(200);
    await lonely.stop();
  });
});

describe('traffic, then /metrics and the access log', () => {
  const labelsAllowed = new Set(['upstream', 'method', 'code', 'outcome', 'reason', 'to', 'result', 'le']);

  beforeAll(async () => {
    for (let i = 0; i < 6; i++)
      await send('POST', `/echo/${i}?token=query-secret-${i}`, JSON.stringify({ i }));
    await send('GET', '/not-allowed-by-echo'); // echo answers 405: the proxy forwards it as is
    await send('GET', '/not-allowed-by-echo');
    await send('PURGE', '/cache'); // a non-standard method: label OTHER
    await send('DELETE', '/thing', undefined, {
      authorization: 'Bearer authz-secret-value',
      cookie: 'session=cookie-secret-value',
    });
    const { data } = await rawExchange(proxy.port, 'CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n', 3000);
    sent.push({
      method: 'CONNECT',
      path: 'a:443',
      status: Number(data.slice(9, 12)),
      bytesIn: 0,
      bytesOut: -1,
      id: '',
    });
    // Every access record is written once its request is complete; wait for all of them.
    await waitFor(() => proxy.accessLog().length >= sent.length, `${sent.length} access records`);
  });

  it('sent what was expected', () => {
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200, 405, 405, 405, 405, 501]);
  });

  it('passes promtool check metrics', async (ctx) => {
    const promtool = findPromtool();
    if (promtool === undefined) {
      if (process.env.ROUNDGUARD_REQUIRE_PROMTOOL === '1')
        throw new Error('promtool is required (ROUNDGUARD_REQUIRE_PROMTOOL=1) but was not found');
      console.warn('SKIPPED: promtool not found; the /metrics text was not checked by promtool');
      ctx.skip();
      return;
    }
    const { text } = await getMetrics(proxy.adminUrl);
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('counts every request sent in roundguard_requests_total, by upstream, method, code and outcome', async () => {
    const { samples } = await getMetrics(proxy.adminUrl);
    const total = (where: Record<string, string> = {}): number =>
      sumOf(samples, 'roundguard_requests_total', where);
    expect(total()).toBe(sent.length);
    expect(total({ method: 'POST', code: '200', outcome: 'ok' })).toBe(6);
    expect(total({ upstream: a.url, method: 'POST', code: '200' })).toBe(3);
    expect(total({ upstream: b.url, method: 'POST', code: '200' })).toBe(3);
    expect(total({ method: 'GET', code: '405', outcome: 'ok' })).toBe(2);
    expect(total({ method: 'OTHER', code: '405' })).toBe(1);
    expect(total({ method: 'DELETE', code: '405' })).toBe(1);
    expect(total({ upstream: deadUrl })).toBe(0);
    expect(total({ upstream: 'none', code: '501', outcome: 'rejected' })).toBe(1);
    expect(sumOf(samples, 'roundguard_request_duration_seconds_count')).toBe(sent.length);
    expect(sumOf(samples, 'roundguard_upstream_ttfb_seconds_count')).toBe(sent.length - 1);
    expect(sumOf(samples, 'roundguard_requests_in_flight')).toBe(0);
  });

  it('exports health, errors and transitions per upstream, and the default process metrics', async () => {
    const { text, samples } = await getMetrics(proxy.adminUrl);
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('roundguard_upstream_up', { upstream: a.url })).toBe(1);
    expect(value('roundguard_upstream_up', { upstream: b.url })).toBe(1);
    expect(value('roundguard_upstream_up', { upstream: deadUrl })).toBe(0);
    expect(value('roundguard_upstream_transitions_total', { upstream: deadUrl, to: 'down' })).toBe(1);
    expect(
      sumOf(samples, 'roundguard_health_checks_total', { upstream: deadUrl, result: 'error' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sumOf(samples, 'roundguard_health_checks_total', { upstream: a.url, result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sumOf(samples, 'roundguard_health_check_duration_seconds_count', { upstream: a.url }),
    ).toBeGreaterThanOrEqual(1);
    for (const [name, type] of [
      ['roundguard_requests_total', 'counter'],
      ['roundguard_request_duration_seconds', 'histogram'],
      ['roundguard_upstream_ttfb_seconds', 'histogram'],
      ['roundguard_requests_in_flight', 'gauge'],
      ['roundguard_upstream_errors_total', 'counter'],
      ['roundguard_upstream_up', 'gauge'],
      ['roundguard_upstream_transitions_total', 'counter'],
      ['roundguard_health_checks_total', 'counter'],
      ['roundguard_health_check_duration_seconds', 'histogram'],
    ]) {
      expect(text, name).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name.startsWith('nodejs_'))).toBe(true);
  });

  it('keeps labels bounded: never the path, the query or a header value', async () => {
    const { text, samples } = await getMetrics(proxy.adminUrl);
    const ours = samples.filter((s: Sample) => s.name.startsWith('roundguard_'));
    for (const s of ours)
      for (const key of Object.keys(s.labels)) expect(labelsAllowed, `${s.name} label ${key}`).toContain(key);
    expect(text).not.toContain('/echo/');
    expect(text).not.toContain('not-allowed-by-echo');
    expect(text).not.toContain('PURGE');
    expect(text).not.toContain('secret');
  });

  it('writes one access record per request, with every field of the contract', () => {
    const records = proxy.accessLog();
    expect(records).toHaveLength(sent.length);
    for (const r of records) {
      for (const field of [
        'time',
        'level',
        'req_id',
        'client_ip',
        'method',
        'host',
        'path',
        'status',
        'upstream',
        'outcome',
        'error_code',
        'bytes_in',
        'bytes_out',
        'duration_ms',
        'upstream_ttfb_ms',
      ]) {
        expect(r, `${field} in ${JSON.stringify(r)}`).toHaveProperty(field);
      }
      expect(new Date(r.time as string).toISOString()).toBe(r.time);
      expect(r.client_ip).toBe('127.0.0.1');
      expect(typeof r.duration_ms).toBe('number');
      expect(r.duration_ms as number).toBeGreaterThanOrEqual(0);
    }
    for (const s of sent.filter((x) => x.id !== '')) {
      const r = records.find((x) => x.req_id === s.id);
      expect(r, `record of ${s.method} ${s.path}`).toBeDefined();
      expect(r).toMatchObject({
        method: s.method,
        path: s.path,
        status: s.status,
        outcome: 'ok',
        error_code: null,
        bytes_in: s.bytesIn,
        bytes_out: s.bytesOut,
        level: 'info',
      });
      expect(r!.host).toBe(`127.0.0.1:${proxy.port}`);
      expect([a.url, b.url]).toContain(r!.upstream);
      expect(typeof r!.upstream_ttfb_ms).toBe('number');
    }
    const connect = records.find((r) => r.method === 'CONNECT');
    expect(connect).toMatchObject({ status: 501, outcome: 'rejected', upstream_ttfb_ms: null });
  });

  it('never logs Authorization or Cookie values, nor the query string', () => {
    const out = proxy.stdout();
    expect(out).not.toContain('authz-secret-value');
    expect(out).not.toContain('cookie-secret-value');
    expect(out).not.toContain('query-secret');
  });

  it("logs the proxy's own 5xx answers at warn", async () => {
    // A 503 needs a proxy without a healthy upstream: a second one, whose only upstream is dead.
    const port = await closedPort();
    const lonely = await startProxy([
      '--upstream',
      `http://127.0.0.1:${port}`,
      '--health-interval',
      '200',
      '--health-timeout',
      '150',
    ]);
    await waitForHealth(lonely.adminUrl, `http://127.0.0.1:${port}`, false);
    const res = await request(`${lonely.url}/x`);
    expect(res.status).toBe(503);
    const record = await lonely.waitForRecord((r) => r.msg === 'request completed');
    expect(record).toMatchObject({
      level: 'warn',
      status: 503,
      outcome: 'no_upstream',
      error_code: 'NO_HEALTHY_UPSTREAM',
      upstream: 'none',
      upstream_ttfb_ms: null,
      // The proxy's own error body is what the client got.
      bytes_in: 0,
      bytes_out: Buffer.byteLength(res.text()),
    });
    await lonely.stop();
  });
});
