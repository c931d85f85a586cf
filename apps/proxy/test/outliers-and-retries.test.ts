// Outlier detection and retries end to end (the dispatcher's rules, as the proxy applies them): real
// backends on 127.0.0.1, the real proxy process.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend, namedBackend } from './helpers/backends.js';
import { getMetrics, getUpstreams, request, sumOf, waitFor, type Response } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

async function sequence(proxy: ProxyProcess, n: number, tag: string): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < n; i++) out.push(await request(`${proxy.url}/${tag}?i=${i}`));
  return out;
}

describe('outlier detection', () => {
  it('ejects an upstream that answers 500s after --eject-after failures, shows it, counts and logs it, and takes it back after --eject-time', async () => {
    const [a, b] = await Promise.all([namedBackend('A'), namedBackend('B', 500)]);
    const proxy = await startProxy([
      '--upstream',
      a.url,
      '--upstream',
      b.url,
      '--eject-after',
      '3',
      '--eject-time',
      '1500',
      ...NO_PROBES,
    ]);
    // A, B, A, B, A, B: B's third 500 in a row ejects it; its answers are relayed as they are.
    const first = await sequence(proxy, 6, 'before');
    expect(first.map((r) => r.status)).toEqual([200, 500, 200, 500, 200, 500]);
    const ejected = await proxy.waitForRecord((r) => r.msg === 'upstream ejected');
    const ejectedAt = Date.now();
    expect(ejected).toMatchObject({ level: 'warn', upstream: b.url });
    expect(String(ejected.reason)).toContain('3 failures in a row');
    expect(String(ejected.reason)).toContain('HTTP 500');

    const report = (await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url);
    expect(report).toMatchObject({ state: 'ejected', name: b.url.slice('http://'.length), failures: 3 });
    expect(typeof report?.ejectedUntil).toBe('string');
    const until = Date.parse(report?.ejectedUntil as string);
    expect(until).toBeGreaterThan(Date.now() - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 1500);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_upstream_ejections_total', { upstream: b.url })).toBe(1);
    expect(sumOf(samples, 'roundguard_upstream_state', { upstream: b.url, state: 'ejected' })).toBe(1);
    expect(sumOf(samples, 'roundguard_upstream_up', { upstream: b.url })).toBe(0);
    expect(sumOf(samples, 'roundguard_upstream_ejections_total', { upstream: a.url })).toBe(0);

    // While ejected, every request goes to A.
    const countB = b.count;
    const during = await sequence(proxy, 6, 'during');
    expect(during.map((r) => r.headers['x-backend'])).toEqual(Array(6).fill('A'));
    expect(b.count).toBe(countB);

    // Back after the ejection time.
    const restored = await proxy.waitForRecord((r) => r.msg === 'upstream restored', 10_000);
    expect(Date.now() - ejectedAt).toBeGreaterThan(1000);
    expect(restored).toMatchObject({ level: 'info', upstream: b.url });
    expect(typeof restored.reason).toBe('string');
    expect((await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url)).toMatchObject({
      state: 'up',
      ejectedUntil: null,
    });
    const after = await sequence(proxy, 2, 'after');
    expect(new Set(after.map((r) => r.headers['x-backend']))).toEqual(new Set(['A', 'B']));
    expect(b.count).toBe(countB + 1);
  });

  it('ejects no upstream with --eject-after 0', async () => {
    const b = await namedBackend('B', 500);
    const proxy = await startProxy(['--upstream', b.url, '--eject-after', '0', ...NO_PROBES]);
    const all = await sequence(proxy, 8, 'x');
    expect(all.map((r) => r.status)).toEqual(Array(8).fill(500));
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ state: 'up', failures: 8 });
    expect(proxy.records.filter((r) => r.msg === 'upstream ejected')).toEqual([]);
  });
});

describe('retries', () => {
  async function refusingAndWorking() {
    const a = await httpBackend((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'x-backend': 'A' }).end(req.url));
    });
    const refusing = `http://127.0.0.1:${await closedPort()}`;
    return { a, refusing };
  }
  const seenPaths = (a: { seen: { url: string }[] }) =>
    a.seen.map((s) => s.url).filter((u) => u !== '/health');

  it('are off by default: the request sent to a refusing upstream answers 502 exactly once, the others reach the working one exactly once each', async () => {
    const { a, refusing } = await refusingAndWorking();
    const proxy = await startProxy(['--upstream', a.url, '--upstream', refusing, ...NO_PROBES]);
    const responses = await sequence(proxy, 10, 'off');
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([502]);
    expect(statuses[1]).toBe(502); // the second pick is the refusing upstream
    const ok = responses.flatMap((r, i) => (r.status === 200 ? [`/off?i=${i}`] : []));
    expect(seenPaths(a)).toEqual(ok);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_retries_total')).toBe(0);
    expect(
      sumOf(samples, 'roundguard_requests_total', {
        upstream: refusing,
        code: '502',
        outcome: 'upstream_error',
      }),
    ).toBe(1);
  });

  it('with --retries 1 turn that 502 into a 200 from the next upstream, and count it', async () => {
    const { a, refusing } = await refusingAndWorking();
    const proxy = await startProxy([
      '--upstream',
      a.url,
      '--upstream',
      refusing,
      '--retries',
      '1',
      ...NO_PROBES,
    ]);
    const responses = await sequence(proxy, 10, 'on');
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(seenPaths(a)).toEqual(Array.from({ length: 10 }, (_, i) => `/on?i=${i}`));
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_retries_total', { upstream: refusing })).toBe(1);
    expect(sumOf(samples, 'roundguard_requests_total', { upstream: refusing })).toBe(0);
    expect(sumOf(samples, 'roundguard_requests_total', { upstream: a.url, code: '200' })).toBe(10);
    expect(sumOf(samples, 'roundguard_requests_in_flight')).toBe(0);
    // The retried request is one access record, under the upstream that answered.
    const retried = responses[1] as Response;
    const id = retried.headers['x-request-id'] as string;
    await waitFor(() => proxy.accessLog().some((r) => r.req_id === id), 'the access record');
    expect(proxy.accessLog().filter((r) => r.req_id === id)).toEqual([
      expect.objectContaining({ status: 200, outcome: 'ok', upstream: a.url }),
    ]);
    expect((await getUpstreams(proxy.adminUrl)).find((u) => u.url === refusing)).toMatchObject({
      state: 'down',
      healthy: false,
      lastError: 'ECONNREFUSED',
    });
  });
});
