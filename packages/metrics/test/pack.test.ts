import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { verifyPackedPackage } from '../../../scripts/pack-check.mjs';

it('installs from its packed tarball and works with import, require and TypeScript (node16 + bundler)', async () => {
  await verifyPackedPackage({
    packageDir: fileURLToPath(new URL('..', import.meta.url)),
    esm: `
      import { createServer, request } from 'node:http';
      import { createMetrics, metricsHandler, normalizeMethod, NO_UPSTREAM } from '@roundguard/metrics';
      const metrics = createMetrics({ labels: { service: 'pack' } });
      const up = metrics.upstream('http://127.0.0.1:3001');
      up.requestStarted();
      up.ttfb(0.01);
      up.requestFinished('GET', 200, 'ok', 0.02);
      metrics.upstream(NO_UPSTREAM).requestStarted();
      if (normalizeMethod('PROPFIND') !== 'OTHER') throw new Error('normalizeMethod');
      const server = createServer(metricsHandler(metrics.registry)).listen(0, '127.0.0.1', () => {
        request({ host: '127.0.0.1', port: server.address().port, path: '/metrics' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => {
            server.close();
            if (res.statusCode !== 200) throw new Error('status ' + res.statusCode);
            if (res.headers['content-type'] !== 'text/plain; version=0.0.4; charset=utf-8') throw new Error('type ' + res.headers['content-type']);
            const line = 'roundguard_requests_total{upstream="http://127.0.0.1:3001",method="GET",code="200",outcome="ok",service="pack"} 1';
            if (!body.includes(line)) throw new Error('ESM exposition lacks ' + line + '\\n' + body);
            if (!body.includes('process_cpu_seconds_total')) throw new Error('no default metrics');
          });
        }).end();
      });
    `,
    cjs: `
      const { createHttpServerMetrics, createMetrics } = require('@roundguard/metrics');
      const { Registry } = require('prom-client');
      const registry = new Registry();
      const metrics = createHttpServerMetrics({ registry, defaultMetrics: false });
      metrics.requestStarted();
      metrics.requestFinished('POST', 201, 0.005);
      try { createMetrics({ prefix: 'bad-prefix' }); throw new Error('no throw'); }
      catch (err) { if (err.code !== 'ERR_METRICS_INVALID_OPTION') throw err; }
      registry.metrics().then((text) => {
        if (!text.includes('roundguard_http_requests_total{method="POST",code="201"} 1')) throw new Error('CJS exposition:\\n' + text);
      });
    `,
    ts: `
      import type { IncomingMessage, ServerResponse } from 'node:http';
      import {
        createMetrics, createHttpServerMetrics, metricsHandler, normalizeMethod, normalizeStatus, normalizeReason,
        MetricsError, NO_UPSTREAM,
        type MethodLabel, type MetricsErrorCode, type MetricsOptions, type Outcome, type HealthCheckResult,
        type ProxyMetrics, type UpstreamMetrics, type HttpServerMetrics,
      } from '@roundguard/metrics';
      const options: MetricsOptions = { prefix: 'roundguard_', defaultMetrics: false, labels: { a: 'b' }, durationBuckets: [0.1, 1] };
      const metrics: ProxyMetrics = createMetrics(options);
      const up: UpstreamMetrics = metrics.upstream(NO_UPSTREAM);
      const outcome: Outcome = 'client_abort';
      const result: HealthCheckResult = 'bad_status';
      up.requestFinished('GET', 200, outcome, 0.1);
      up.healthCheck(result, 0.1);
      metrics.requestsTotal.inc({ upstream: 'u', method: 'GET', code: '200', outcome: 'ok' });
      const method: MethodLabel = normalizeMethod('GET');
      const code: string = normalizeStatus(200) + normalizeReason('E');
      const handler: (req: IncomingMessage, res: ServerResponse) => void = metricsHandler(metrics.registry);
      const server: HttpServerMetrics = createHttpServerMetrics();
      const errCode: MetricsErrorCode = 'ERR_METRICS_INVALID_OPTION';
      const isErr = (e: unknown): e is MetricsError => e instanceof MetricsError;
      export { method, code, handler, server, errCode, isErr };
    `,
  });
}, 180_000);
