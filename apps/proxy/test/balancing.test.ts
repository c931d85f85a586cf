// Balancing end to end: real echo backends, the real proxy, exact spreads; liveness (a killed backend
// leaves the rotation after its next failed probe and comes back after its first good one); passive
// removal on a refused connection.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend } from './helpers/backends.js';
import { getUpstreams, postJson, waitFor, type Response } from './helpers/http.js';
import {
  startEcho,
  startProxy,
  stopAllProcesses,
  type EchoProcess,
  type ProxyProcess,
} from './helpers/processes.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

/** Sends `n` JSON POSTs one after the other. */
async function sendSequential(proxy: ProxyProcess, n: number): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < n; i++) out.push(await postJson(`${proxy.url}/rr?i=${i}`, { i }));
  return out;
}

/** Names of the backends that answered, in order (the echo backend's X-Echo-Name). */
function names(responses: readonly Response[]): string[] {
  return responses.map((r) => String(r.headers['x-echo-name'] ?? `status ${r.status}`));
}

function tally(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}

async function threeEchoes(): Promise<[EchoProcess, EchoProcess, EchoProcess]> {
  return Promise.all([startEcho({ name: 'A' }), startEcho({ name: 'B' }), startEcho({ name: 'C' })]);
}

function configFile(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'roundguard-balancing-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/** Echo backends A, B and C behind a proxy whose config file gives them these weights. */
async function weightedProxy(weights: readonly [number, number, number]): Promise<ProxyProcess> {
  const echoes = await threeEchoes();
  const file = configFile({ upstreams: echoes.map((echo, i) => ({ url: echo.url, weight: weights[i] })) });
  return startProxy(['--config', file]);
}

describe('round robin', () => {
  it('spreads 9 requests over 3 upstreams exactly 3 each, in a fixed cycle', async () => {
    const [a, b, c] = await threeEchoes();
    const proxy = await startProxy(['--upstream', a.url, '--upstream', b.url, '--upstream', c.url]);
    const responses = await sendSequential(proxy, 9);
    expect(responses.map((r) => r.status)).toEqual(Array(9).fill(200));
    const order = names(responses);
    expect(tally(order)).toEqual({ A: 3, B: 3, C: 3 });
    // Round robin, not just an even spread: every window of three requests hits all three upstreams.
    for (let i = 0; i + 3 <= order.length; i++) expect(new Set(order.slice(i, i + 3)).size).toBe(3);
  });

  it('gives weighted upstreams their exact smooth share (5:1:1 over 21 requests = 15/3/3)', async () => {
    const proxy = await weightedProxy([5, 1, 1]);
    const order = names(await sendSequential(proxy, 21));
    expect(tally(order)).toEqual({ A: 15, B: 3, C: 3 });
    // Each cycle of 7 holds the exact share, and smooth: B and C are never picked back to back (nginx: a a b a c a a).
    for (let cycle = 0; cycle < 3; cycle++)
      expect(tally(order.slice(cycle * 7, cycle * 7 + 7))).toEqual({ A: 5, B: 1, C: 1 });
    for (let i = 0; i + 1 < order.length; i++) expect(order[i] === 'A' || order[i + 1] === 'A').toBe(true);
  });

  it('gives weight 2:1 exactly 2/3 and 1/3 of 30 requests, and keeps a weight-0 upstream out', async () => {
    const proxy = await weightedProxy([2, 1, 0]);
    const order = names(await sendSequential(proxy, 30));
    expect(tally(order)).toEqual({ A: 20, B: 10 });
  });
});

describe('liveness', () => {
  it('takes a killed upstream out within one probe interval and puts it back after it restarts', async () => {
    const interval = 300;
    const [a, b, c] = await threeEchoes();
    const proxy = await startProxy([
      '--upstream',
      a.url,
      '--upstream',
      b.url,
      '--upstream',
      c.url,
      '--health-interval',
      String(interval),
      '--health-timeout',
      '150',
    ]);
    expect(tally(names(await sendSequential(proxy, 9)))).toEqual({ A: 3, B: 3, C: 3 });
    // Wait for B's first (jittered) probe: from then on probes come every interval.
    await waitFor(
      async () => (await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url)?.lastProbe,
      "B's first probe",
    );

    const killedAt = Date.now();
    await b.stop('SIGKILL');
    const down = await proxy.waitForRecord((r) => r.msg === 'upstream down' && r.upstream === b.url, 10_000);
    const downAfterMs = Date.now() - killedAt;
    expect(down.level).toBe('warn');
    expect(typeof down.reason).toBe('string');
    // One interval plus the probe's own timeout; the slack covers a loaded CI machine, not a second interval.
    expect(downAfterMs).toBeLessThan(interval + 150 + 1500);
    const report = (await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url);
    expect(report).toMatchObject({ healthy: false });
    expect(report?.lastError).toBeTruthy();

    // Once the failed probe happened, no request reaches B: every one is answered, by A and C in turn.
    const after = await sendSequential(proxy, 12);
    expect(after.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(tally(names(after))).toEqual({ A: 6, C: 6 });

    const restarted = await startEcho({ name: 'B', port: b.port });
    const restartedAt = Date.now();
    const up = await proxy.waitForRecord((r) => r.msg === 'upstream up' && r.upstream === b.url, 10_000);
    expect(up.level).toBe('info');
    expect(Date.now() - restartedAt).toBeLessThan(interval + 1500);
    expect(restarted.port).toBe(b.port);
    const back = await sendSequential(proxy, 9);
    expect(back.map((r) => r.status)).toEqual(Array(9).fill(200));
    expect(tally(names(back))).toEqual({ A: 3, B: 3, C: 3 });
  });

  it('probes --health-path with GET, never two probes of one upstream at once, and a non-200 takes it out', async () => {
    let open = 0;
    let maxOpen = 0;
    let probes = 0;
    let status = 200;
    const backend = await httpBackend(
      (req, res) => {
        if (req.url !== '/custom-health') return void res.end('app');
        probes++;
        open++;
        maxOpen = Math.max(maxOpen, open);
        // Each probe takes longer than the interval: the next one must wait for it.
        setTimeout(() => {
          open--;
          res.writeHead(status).end();
        }, 250);
      },
      { healthPath: '/unused' },
    );
    const proxy = await startProxy([
      '--upstream',
      backend.url,
      '--health-path',
      '/custom-health',
      '--health-interval',
      '50',
      '--health-timeout',
      '2000',
    ]);
    await waitFor(() => probes >= 4, 'four probes');
    expect(maxOpen).toBe(1);
    expect(backend.seen.filter((s) => s.url === '/custom-health').every((s) => s.method === 'GET')).toBe(
      true,
    );
    status = 500;
    const down = await proxy.waitForRecord((r) => r.msg === 'upstream down');
    expect(down.reason).toMatch(/500/);
    status = 200;
    await proxy.waitForRecord((r) => r.msg === 'upstream up');
    expect(maxOpen).toBe(1);
  });

  it('takes an upstream out on a refused connection: only the request that found it fails (502)', async () => {
    const [a, b, c] = await threeEchoes();
    // No probe will run during this test: only the passive rule can take B out.
    const proxy = await startProxy([
      '--upstream',
      a.url,
      '--upstream',
      b.url,
      '--upstream',
      c.url,
      '--health-interval',
      '2000000000',
    ]);
    expect(tally(names(await sendSequential(proxy, 3)))).toEqual({ A: 1, B: 1, C: 1 });
    await b.stop('SIGKILL');
    // Let the proxy see its idle keep-alive connection to B close, so the next one to B is a new connect.
    await new Promise((r) => setTimeout(r, 300));
    const after = await sendSequential(proxy, 10);
    const statuses = after.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([502]);
    const failed = after.find((r) => r.status === 502) as Response;
    expect(failed.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.any(String) } });
    // Everything after the failure went to A and C.
    const rest = after.slice(statuses.indexOf(502) + 1);
    expect(new Set(names(rest))).toEqual(new Set(['A', 'C']));
    const report = (await getUpstreams(proxy.adminUrl)).find((u) => u.url === b.url);
    expect(report).toMatchObject({ healthy: false, lastError: 'ECONNREFUSED' });
    const down = await proxy.waitForRecord((r) => r.msg === 'upstream down' && r.upstream === b.url);
    expect(down.reason).toBe('ECONNREFUSED');
  });
});
