// The admin server, the metrics and the access log end to end: /healthz, /readyz, /upstreams, 404/405,
// and nothing forwarded whatever is sent to the admin port; /metrics checked by promtool and against
// the number of requests sent, with label values within a documented set whatever clients send; one
// JSON access record per request (rejected ones included) with every field, that no client-controlled
// byte can forge or break.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort } from './helpers/backends.js';
import { errorCodeOf, parseRaw } from './helpers/hardening.js';
import {
  findPromtool,
  getMetrics,
  getUpstreams,
  rawExchange,
  request,
  type Response,
  type Sample,
  sleep,
  sumOf,
  waitFor,
  waitForHealth,
} from './helpers/http.js';
import {
  type EchoProcess,
  type ProxyProcess,
  startEcho,
  startProxy,
  startProxyWithNoUpstreamUp,
  stopAllProcesses,
} from './helpers/processes.js';
import { reflectingProxy } from './helpers/reflecting-proxy.js';

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
    // `/` is the dashboard.
    const root = await request(`${proxy.adminUrl}/`);
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow to other methods', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      const res = await request(`${proxy.adminUrl}${path}`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: expect.any(String) } });
    }
    const del = await request(`${proxy.adminUrl}/upstreams`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('GET, HEAD, POST');
  });

  it('GET /readyz answers 503 when no upstream is in rotation', async () => {
    const lonely = await startProxyWithNoUpstreamUp();
    const res = await request(`${lonely.adminUrl}/readyz`);
    expect(res.status).toBe(503);
    expect((await request(`${lonely.adminUrl}/healthz`)).status).toBe(200);
    await lonely.stop();
  });
});

describe('traffic, then /metrics and the access log', () => {
  const labelsAllowed = new Set([
    'upstream',
    'method',
    'code',
    'outcome',
    'reason',
    'to',
    'result',
    'state',
    'name',
    'le',
  ]);

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

  /** `where` with `upstream: 'A' | 'B' | 'dead'` replaced by that upstream's URL. */
  const labelled = (where: Record<string, string>): Record<string, string> => {
    const urls: Record<string, string> = { A: a.url, B: b.url, dead: deadUrl };
    return where.upstream === undefined
      ? where
      : { ...where, upstream: urls[where.upstream] ?? where.upstream };
  };

  it('counts every request sent once, and none still in flight', async () => {
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_requests_total')).toBe(sent.length);
    expect(sumOf(samples, 'roundguard_request_duration_seconds_count')).toBe(sent.length);
    expect(sumOf(samples, 'roundguard_upstream_ttfb_seconds_count')).toBe(sent.length - 1);
    expect(sumOf(samples, 'roundguard_requests_in_flight')).toBe(0);
  });

  it.each([
    [{ method: 'POST', code: '200', outcome: 'ok' }, 6],
    [{ upstream: 'A', method: 'POST', code: '200' }, 3],
    [{ upstream: 'B', method: 'POST', code: '200' }, 3],
    [{ method: 'GET', code: '405', outcome: 'ok' }, 2],
    [{ method: 'OTHER', code: '405' }, 1],
    [{ method: 'DELETE', code: '405' }, 1],
    [{ upstream: 'dead' }, 0],
    [{ upstream: 'none', code: '501', outcome: 'rejected' }, 1],
  ])(
    'counts roundguard_requests_total by upstream, method, code and outcome: %j',
    async (where, expected) => {
      const { samples } = await getMetrics(proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_requests_total', labelled(where))).toBe(expected);
    },
  );

  it.each([
    ['roundguard_upstream_up', { upstream: 'A' }, 1],
    ['roundguard_upstream_up', { upstream: 'B' }, 1],
    ['roundguard_upstream_up', { upstream: 'dead' }, 0],
    ['roundguard_upstream_transitions_total', { upstream: 'dead', to: 'down' }, 1],
  ])('exports %s %j = %i', async (name, where: Record<string, string>, expected) => {
    const { samples } = await getMetrics(proxy.adminUrl);
    const labels = labelled(where);
    const sample = samples.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    expect(sample?.value).toBe(expected);
  });

  it.each([
    ['roundguard_health_checks_total', { upstream: 'dead', result: 'error' }],
    ['roundguard_health_checks_total', { upstream: 'A', result: 'ok' }],
    ['roundguard_health_check_duration_seconds_count', { upstream: 'A' }],
  ])('counts the health checks: %s %j', async (name, where: Record<string, string>) => {
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, name, labelled(where))).toBeGreaterThanOrEqual(1);
  });

  it('declares the type of every proxy metric, and exports the default process metrics', async () => {
    const { text, samples } = await getMetrics(proxy.adminUrl);
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
    const lonely = await startProxyWithNoUpstreamUp();
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

describe('three reflecting upstreams', () => {
  /** A deterministic pseudo-random generator (the same cases on every run). */
  function prng(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
  }

  describe('the admin port', () => {
    const upstreams = reflectingProxy();
    const { forwarded } = upstreams;

    it.each([
      [
        'an absolute-form target to an upstream',
        `GET ${'http://127.0.0.1'}/x HTTP/1.1\r\nhost: 127.0.0.1\r\n`,
        404,
        'NOT_FOUND',
      ],
      [
        'an absolute-form target to /metrics',
        'GET http://admin/metrics HTTP/1.1\r\nhost: admin\r\n',
        404,
        'NOT_FOUND',
      ],
      ['a proxy-style path', 'GET /api/users?id=1 HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
      ['a near miss of /metrics', 'GET /metrics/ HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
      ['upper-case /METRICS', 'GET /METRICS HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
      ['a dot-dot path', 'GET /x/../metrics HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
      ['a double slash', 'GET //metrics HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
      [
        'POST with a JSON body to /upstreams without --admin-token',
        'POST /upstreams HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
        403,
        'ADMIN_READ_ONLY',
      ],
      [
        'POST with a JSON body to /metrics',
        'POST /metrics HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
        405,
        'METHOD_NOT_ALLOWED',
      ],
      ['PUT', 'PUT /metrics HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\n\r\nx', 405, 'METHOD_NOT_ALLOWED'],
      ['DELETE', 'DELETE /healthz HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
      ['OPTIONS', 'OPTIONS /healthz HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
      ['PURGE', 'PURGE /readyz HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
      ['CONNECT', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nhost: 127.0.0.1:80\r\n', 405, 'METHOD_NOT_ALLOWED'],
      [
        'an Upgrade to websocket',
        'GET /x HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: websocket\r\n',
        404,
        'NOT_FOUND',
      ],
      ['an unknown method', 'BREW /metrics HTTP/1.1\r\nhost: t\r\n', 501, 'NOT_IMPLEMENTED'],
      ['bytes that are not HTTP (no request line)', 'SSH-2.0-OpenSSH_9.6\r\n', 400, 'BAD_REQUEST'],
      [
        'a request line with a broken protocol name',
        'GET /metrics XTTP/1.1\r\nhost: t\r\n',
        400,
        'BAD_REQUEST',
      ],
      ['a bad header', 'GET /metrics HTTP/1.1\r\nhost: t\r\nx-a: a\x00b\r\n', 400, 'BAD_REQUEST'],
    ])('answers %s with its exact status and code, forwarding nothing', async (_name, head, status, code) => {
      const before = forwarded();
      const { data } = await rawExchange(upstreams.proxy.adminPort, `${head}connection: close\r\n\r\n`, 5000);
      const res = parseRaw(data);
      expect(res.status).toBe(status);
      expect(errorCodeOf(res)).toBe(code);
      if (status === 405) expect(res.headers.allow).toBe('GET, HEAD');
      expect(forwarded()).toBe(before);
    });

    it('refuses a 4 MiB body to a known path with 405, forwarding nothing, and keeps serving', async () => {
      const before = forwarded();
      const body = Buffer.alloc(4 * 1024 * 1024, 0x7b);
      const { data } = await rawExchange(
        upstreams.proxy.adminPort,
        Buffer.concat([
          Buffer.from(`POST /metrics HTTP/1.1\r\nhost: t\r\ncontent-length: ${body.length}\r\n\r\n`),
          body,
        ]),
        5000,
      );
      expect(parseRaw(data).status).toBe(405);
      expect(forwarded()).toBe(before);
      expect((await request(`${upstreams.proxy.adminUrl}/healthz`)).status).toBe(200);
      // Nothing of this reached the proxy's own counters either.
      const { samples } = await getMetrics(upstreams.proxy.adminUrl);
      expect(samples.filter((s) => s.name === 'roundguard_requests_total')).toEqual([]);
      expect(upstreams.proxy.records.filter((r) => r.msg === 'request completed')).toEqual([]);
    });
  });

  describe('labels, log lines and forged bytes', () => {
    const upstreams = reflectingProxy();
    /** Requests sent to the proxy port in this block, each on its own connection. */
    let sent = 0;

    async function send(bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
      sent++;
      const { data } = await rawExchange(
        upstreams.proxy.port,
        typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes,
        timeoutMs,
      );
      return data;
    }

    const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];
    const CUSTOM = [
      'PURGE',
      'LINK',
      'MKCOL',
      'PROPFIND',
      'REPORT',
      'FOO',
      'X-CUSTOM',
      'brew',
      'Get',
      'M3THOD!',
    ];

    it('keeps every label value of the proxy metrics within the documented set, whatever the clients send', async () => {
      const random = prng(7);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
      const token = (n: number): string =>
        Array.from({ length: n }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789-._~'])).join('');
      for (let i = 0; i < 100; i++) {
        const method = random() < 0.5 ? pick(STANDARD) : pick(CUSTOM);
        const path = `/${token(1 + Math.floor(random() * 40))}/${token(5)}?${token(6)}=${token(6)}`;
        const host =
          random() < 0.2
            ? ''
            : `host: ${token(10)}.${pick(['test', 'example', 'invalid'])}:${Math.floor(random() * 65535)}\r\n`;
        const body = method === 'GET' || method === 'HEAD' ? '' : token(Math.floor(random() * 50));
        await send(
          `${method} ${path} HTTP/1.1\r\n${host}user-agent: ${token(12)}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      const { text, samples } = await getMetrics(upstreams.proxy.adminUrl);
      const ours = samples.filter((s) => s.name.startsWith('roundguard_'));
      const values = (label: string): Set<string> =>
        new Set(ours.filter((s) => s.labels[label] !== undefined).map((s) => s.labels[label] as string));
      const methods = values('method');
      for (const m of methods) expect([...STANDARD, 'CONNECT', 'OTHER']).toContain(m);
      expect(methods.has('OTHER')).toBe(true);
      for (const outcome of values('outcome'))
        expect(['ok', 'upstream_error', 'timeout', 'no_upstream', 'client_abort', 'rejected']).toContain(
          outcome,
        );
      for (const code of values('code')) expect(code).toMatch(/^[1-5]\d\d$/);
      for (const upstream of values('upstream'))
        expect([...upstreams.backends.map((b) => b.url), 'none']).toContain(upstream);
      // Nothing a client chose is in the exposition: not a path, a host, a user agent, a custom method.
      for (const m of CUSTOM.filter((c) => !STANDARD.includes(c))) expect(text).not.toContain(`"${m}"`);
      expect(text).not.toMatch(/\.(test|example|invalid)/);
      // The number of request series stays small: upstream x method x code x outcome over a few codes.
      expect(ours.filter((s) => s.name === 'roundguard_requests_total').length).toBeLessThanOrEqual(60);
    });

    it('writes exactly one access line per request sent, rejected ones included', async () => {
      // Requests refused by the proxy or by the HTTP parser count as much as forwarded ones.
      const recordsBefore = upstreams.proxy.records.length;
      const rejected = [
        'GET /a b HTTP/1.1\r\nhost: t\r\n\r\n',
        'GET / HTTP/1.1\r\n\r\n',
        'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
        'POST / HTTP/1.1\r\nhost: t\r\nexpect: foo\r\ncontent-length: 2\r\n\r\nab',
        'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
        'CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n',
        'GET / HTTP/2.0\r\nhost: t\r\n\r\n',
        `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
        'SSH-2.0-OpenSSH_9.6\r\n\r\n',
      ];
      for (const bytes of rejected) await send(bytes);
      // A client that goes away mid-body (after 200 ms): one 499 record, not also one for the parser error.
      await send('POST /gone HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\nabc', 200);
      await send('POST /gone HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n', 200);
      await waitFor(
        () => upstreams.proxy.records.filter((r) => r.msg === 'request completed').length >= sent,
        `${sent} access records`,
      );
      await sleep(300); // and no more come
      const access = upstreams.proxy.records.filter((r) => r.msg === 'request completed');
      expect(access).toHaveLength(sent);
      // Refused by the proxy or by the parser: outcome `rejected` (the bad chunk after a forwarded head too).
      const refused = upstreams.proxy.records
        .slice(recordsBefore)
        .filter((r) => r.msg === 'request completed' && r.outcome === 'rejected');
      expect(refused).toHaveLength(rejected.length);
      const { samples } = await getMetrics(upstreams.proxy.adminUrl);
      const counted = samples
        .filter((s) => s.name === 'roundguard_requests_total')
        .reduce((n, s) => n + s.value, 0);
      expect(counted).toBe(sent);
    });

    it('keeps client-controlled bytes inside one escaped JSON line', async () => {
      const before = upstreams.proxy.records.length;
      const nasty = [
        // Header values may carry bytes 0x80-0xFF: C1 controls (NEL, CSI), and U+2028 as UTF-8 bytes.
        `GET /p HTTP/1.1\r\nhost: evil\x85{"msg":"forged"}\r\nconnection: close\r\n\r\n`,
        `GET /p HTTP/1.1\r\nhost: a\x9b31mred\r\nconnection: close\r\n\r\n`,
        Buffer.concat([
          Buffer.from('GET /p HTTP/1.1\r\nhost: line'),
          Buffer.from('\u2028\u2029', 'utf8'),
          Buffer.from('sep\r\nconnection: close\r\n\r\n'),
        ]),
        `GET /p HTTP/1.1\r\nhost: t\r\nx-request-id: id\x85forged\r\nconnection: close\r\n\r\n`,
        `GET /p HTTP/1.1\r\nhost: t\r\nuser-agent: ua\xff\x85\x1b\r\nconnection: close\r\n\r\n`,
        // Encoded controls stay encoded in the path; the query is never logged.
        `GET /%0d%0a%1b[31m%e2%80%a8?q=%0a{"msg":"forged"} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
        // Raw controls the HTTP parser refuses: rejected, still one line each.
        `GET /a\x1bb HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
        `GET /a\rb HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
        `GET /p HTTP/1.1\r\nhost: t\r\nx-request-id: a\x1bb\r\nconnection: close\r\n\r\n`,
        `GET /p HTTP/1.1\r\nhost: a\rb\r\nconnection: close\r\n\r\n`,
        `GE\x1bT /p HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
        `GET\x85 /p HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      ];
      for (const bytes of nasty) await send(bytes);
      await waitFor(
        () => upstreams.proxy.records.length - before >= nasty.length,
        `${nasty.length} more records`,
      );
      await sleep(300);
      const fresh = upstreams.proxy.records.slice(before);
      expect(fresh).toHaveLength(nasty.length);
      expect(fresh.every((r) => r.msg === 'request completed')).toBe(true);
      expect(fresh.filter((r) => r.msg === 'forged')).toEqual([]);
      // The host values arrived intact (escaped on the way, parsed back here).
      expect(fresh.some((r) => r.host === 'evil\x85{"msg":"forged"}')).toBe(true);
      // A request id with a control character is not "sane": a UUID replaces it.
      expect(fresh.some((r) => String(r.req_id).includes('forged'))).toBe(false);

      // On the wire: every stdout line is one JSON object, with no raw control or line-separator character.
      const lines = upstreams.proxy.stdout().split('\n');
      expect(lines.pop()).toBe('');
      for (const line of lines) {
        expect(() => {
          JSON.parse(line);
        }, line).not.toThrow();
        // eslint-disable-next-line no-control-regex
        expect(line, JSON.stringify(line)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }
      expect(upstreams.proxy.records.filter((r) => r.msg === '(not json)')).toEqual([]);
    });
  });
});
