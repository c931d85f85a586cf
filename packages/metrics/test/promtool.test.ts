// Validates real exposition output with Prometheus's own linter, `promtool check metrics` (Debian package
// `prometheus`, installed by .ci/run). Without promtool the tests are skipped with a visible message, except
// when ROUNDGUARD_REQUIRE_PROMTOOL=1 (CI), where a missing promtool is a failure.
import { spawn, spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHttpServerMetrics,
  createMetrics,
  metricsHandler,
  NO_UPSTREAM,
  type ProxyMetrics,
} from '../src/index.js';
import { close, listen, send } from './server.js';

const required = process.env.ROUNDGUARD_REQUIRE_PROMTOOL === '1';
const promtool = process.env.PROMTOOL ?? 'promtool';
const available = spawnSync(promtool, ['--version'], { stdio: 'ignore' }).status === 0;

interface Check {
  status: number | null;
  output: string;
}

function check(text: string): Promise<Check> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
    child.stdin.end(text);
  });
}

let server: Server | undefined;
afterEach(async () => {
  await close(server);
  server = undefined;
});

/** Fetches the exposition the way Prometheus would: GET over HTTP from metricsHandler. */
async function scrape(registry: ProxyMetrics['registry']): Promise<string> {
  const started = await listen(metricsHandler(registry));
  server = started.server;
  const reply = await send(started.port, 'GET');
  expect(reply.status).toBe(200);
  return reply.body;
}

describe('promtool check metrics', () => {
  it('is available, or the promtool tests are skipped visibly (a failure when ROUNDGUARD_REQUIRE_PROMTOOL=1)', (ctx) => {
    if (!available) {
      if (required) {
        expect.fail(
          `ROUNDGUARD_REQUIRE_PROMTOOL=1 but \`${promtool}\` was not found: install Debian's prometheus package`,
        );
      }
      console.warn(
        `[@roundguard/metrics] SKIPPED promtool checks: \`${promtool}\` not found (apt-get install prometheus). Set ROUNDGUARD_REQUIRE_PROMTOOL=1 to make this a failure.`,
      );
      ctx.skip();
    }
    expect(available).toBe(true);
  });

  it.skipIf(!available)(
    'accepts the proxy metrics with every metric recorded, default metrics and default labels',
    async () => {
      const metrics = createMetrics({ labels: { service: 'roundguard', instance_name: 'edge "1"' } });
      for (const url of ['http://127.0.0.1:3001', 'http://[::1]:3002', 'http://host:3003/a"b\\c']) {
        const up = metrics.upstream(url);
        up.setUp(true);
        up.transition('up');
        up.healthCheck('ok', 0.002);
        up.healthCheck('bad_status', 0.004);
        up.requestStarted();
        up.ttfb(0.003);
        up.requestFinished('GET', 200, 'ok', 0.01);
        up.requestStarted();
        up.requestFinished('PROPFIND', 0, 'client_abort', 0.2);
        up.requestStarted();
        up.requestFinished('POST', 502, 'upstream_error', 0.001);
        up.upstreamError('ECONNREFUSED');
        up.upstreamError('socket hang up');
        up.requestStarted();
        up.requestFinished('PUT', 504, 'timeout', 30);
        up.upstreamError('UND_ERR_HEADERS_TIMEOUT');
        up.transition('down');
        up.setUp(false);
        up.requestStarted();
      }
      metrics.upstream(NO_UPSTREAM).requestStarted();
      metrics.upstream(NO_UPSTREAM).requestFinished('GET', 503, 'no_upstream', 0.0001);

      const text = await scrape(metrics.registry);
      expect(text).toContain('roundguard_upstream_errors_total');
      expect(text).toContain('process_cpu_seconds_total');
      const result = await check(text);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it.skipIf(!available)(
    'accepts upstream states, ejections, retries and DNS lookups next to every other metric',
    async () => {
      const metrics = createMetrics({ labels: { service: 'roundguard' } });
      const states = ['up', 'down', 'ejected', 'draining', 'maint'] as const;
      states.forEach((state, i) => {
        const up = metrics.upstream(`http://127.0.0.1:${3001 + i}`);
        up.setState(state);
        up.healthCheck('ok', 0.002);
        up.requestStarted();
        up.ttfb(0.003);
        up.requestFinished('GET', 200, 'ok', 0.01);
        up.upstreamError('ECONNREFUSED');
        up.retried();
        up.ejected();
        up.transition('down');
      });
      metrics.dnsLookup('echo.default.svc.cluster.local', 'ok');
      metrics.dnsLookup('_http._tcp.echo.internal', 'empty');
      metrics.dnsLookup('echo.default.svc.cluster.local', 'error');

      const text = await scrape(metrics.registry);
      for (const name of ['upstream_state', 'upstream_ejections_total', 'retries_total', 'dns_lookups_total'])
        expect(text).toContain(`\nroundguard_${name}{`);
      const result = await check(text);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it.skipIf(!available)('accepts freshly created metrics before any request', async () => {
    const result = await check(await scrape(createMetrics().registry));
    expect(result).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!available)('accepts the HTTP server metrics', async () => {
    const metrics = createHttpServerMetrics({ prefix: 'echo_' });
    metrics.requestStarted();
    metrics.requestFinished('POST', 200, 0.003);
    metrics.requestStarted();
    metrics.requestFinished('GET', 405, 0.0001);
    const result = await check(await scrape(metrics.registry));
    expect(result).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!available)('reports problems (the check is not a no-op)', async () => {
    const result = await check(
      '# HELP bad_metric A gauge named like a counter.\n# TYPE bad_metric_total gauge\nbad_metric_total 1\n',
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/_total/);
  });
});
