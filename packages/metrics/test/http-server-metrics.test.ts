import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServerMetrics, DEFAULT_DURATION_BUCKETS, metricsHandler } from '../src/index.js';
import { histogramSamples, key, parseExposition, samplesWithPrefix } from './exposition.js';
import { close, listen, send } from './server.js';

let server: Server | undefined;
afterEach(async () => {
  await close(server);
  server = undefined;
});

describe('createHttpServerMetrics', () => {
  it('carries exactly the expected samples after recording requests', async () => {
    const metrics = createHttpServerMetrics({ defaultMetrics: false });
    metrics.requestStarted();
    metrics.requestFinished('POST', 200, 0.25);
    metrics.requestStarted();
    metrics.requestFinished('POST', 200, 0.5);
    metrics.requestStarted();
    metrics.requestFinished('BREW', 999, 0.125);
    metrics.requestStarted();
    const exposition = parseExposition(await metrics.registry.metrics());
    const cumulative = (values: number[]) =>
      DEFAULT_DURATION_BUCKETS.map((b) => values.filter((v) => v <= b).length);
    expect(samplesWithPrefix(exposition, 'roundguard_')).toEqual({
      [key('roundguard_http_requests_total', { method: 'POST', code: '200' })]: 2,
      [key('roundguard_http_requests_total', { method: 'OTHER', code: 'other' })]: 1,
      ...histogramSamples(
        'roundguard_http_request_duration_seconds',
        { method: 'POST', code: '200' },
        DEFAULT_DURATION_BUCKETS,
        cumulative([0.25, 0.5]),
        2,
        0.75,
      ),
      ...histogramSamples(
        'roundguard_http_request_duration_seconds',
        { method: 'OTHER', code: 'other' },
        DEFAULT_DURATION_BUCKETS,
        cumulative([0.125]),
        1,
        0.125,
      ),
      roundguard_http_requests_in_flight: 1,
    });
    expect(exposition.types.get('roundguard_http_requests_total')).toBe('counter');
    expect(exposition.types.get('roundguard_http_request_duration_seconds')).toBe('histogram');
    expect(exposition.types.get('roundguard_http_requests_in_flight')).toBe('gauge');
  });

  it('honours prefix and labels', async () => {
    const metrics = createHttpServerMetrics({
      prefix: 'echo_',
      labels: { name: 'echo-3001' },
      defaultMetrics: false,
    });
    metrics.requestStarted();
    const { samples } = parseExposition(await metrics.registry.metrics());
    expect(samples.get(key('echo_http_requests_in_flight', { name: 'echo-3001' }))).toBe(1);
  });

  it('rejects a bad duration with ERR_METRICS_INVALID_VALUE and records nothing', async () => {
    const metrics = createHttpServerMetrics({ defaultMetrics: false });
    expect(() => metrics.requestFinished('GET', 200, -0.5)).toThrow(
      expect.objectContaining({ code: 'ERR_METRICS_INVALID_VALUE' }),
    );
    const samples = samplesWithPrefix(parseExposition(await metrics.registry.metrics()), 'roundguard_');
    expect(samples).toEqual({ roundguard_http_requests_in_flight: 0 });
  });

  it('measures a real server end to end, next to its /metrics endpoint', async () => {
    const metrics = createHttpServerMetrics();
    const serveMetrics = metricsHandler(metrics.registry);
    const started = await listen((req, res) => {
      if (req.url === '/metrics') return serveMetrics(req, res);
      const start = process.hrtime.bigint();
      metrics.requestStarted();
      res.on('close', () =>
        metrics.requestFinished(
          req.method ?? 'GET',
          res.statusCode,
          Number(process.hrtime.bigint() - start) / 1e9,
        ),
      );
      res.statusCode = req.method === 'POST' ? 200 : 405;
      res.end();
    });
    server = started.server;
    await send(started.port, 'POST', '/echo', '{}');
    await send(started.port, 'GET', '/echo');
    const reply = await send(started.port, 'GET', '/metrics');
    const { samples } = parseExposition(reply.body);
    expect(samples.get(key('roundguard_http_requests_total', { method: 'POST', code: '200' }))).toBe(1);
    expect(samples.get(key('roundguard_http_requests_total', { method: 'GET', code: '405' }))).toBe(1);
    expect(samples.get('roundguard_http_requests_in_flight')).toBe(0);
  });
});
