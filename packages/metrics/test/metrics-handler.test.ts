import type { Server } from 'node:http';
import { Gauge, Registry, type OpenMetricsContentType, type RegistryContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, metricsHandler, MetricsError } from '../src/index.js';
import { key, parseExposition } from './exposition.js';
import { close, listen, send } from './server.js';

const A = 'http://127.0.0.1:3001';
let server: Server | undefined;

afterEach(async () => {
  await close(server);
  server = undefined;
});

async function serve(
  registry: Registry<RegistryContentType>,
  onError?: (err: unknown) => void,
): Promise<number> {
  const started = await listen(metricsHandler(registry, onError ? { onError } : undefined));
  server = started.server;
  return started.port;
}

describe('metricsHandler over a real HTTP server', () => {
  it('answers GET with 200, the Prometheus content type and the recorded samples', async () => {
    const metrics = createMetrics();
    metrics.upstream(A).requestStarted();
    metrics.upstream(A).requestFinished('GET', 200, 'ok', 0.25);
    const port = await serve(metrics.registry);

    const reply = await send(port, 'GET');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    expect(reply.headers['cache-control']).toBe('no-store');
    const { samples } = parseExposition(reply.body);
    expect(
      samples.get(
        key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' }),
      ),
    ).toBe(1);
    expect(
      samples.get(
        key('roundguard_request_duration_seconds_count', { upstream: A, method: 'GET', code: '200' }),
      ),
    ).toBe(1);
    expect(samples.has('process_cpu_seconds_total')).toBe(true);
  });

  it('answers HEAD with the same status and headers and no body', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A).setUp(true);
    const port = await serve(metrics.registry);
    const get = await send(port, 'GET');
    const head = await send(port, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])(
    'answers %s with 405, Allow: GET, HEAD and a JSON error',
    async (method) => {
      const port = await serve(createMetrics({ defaultMetrics: false }).registry);
      const reply = await send(port, method, '/metrics', method === 'POST' ? '{"a":1}' : undefined);
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
      expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('METHOD_NOT_ALLOWED');
      expect(body.error.message).toContain(method);
    },
  );

  it('answers 500 with a JSON error and calls onError when collecting fails', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken',
      help: 'A metric whose collect throws.',
      registers: [registry],
      collect() {
        throw new Error('sensor unplugged');
      },
    });
    const errors: unknown[] = [];
    const port = await serve(registry, (err) => errors.push(err));
    const reply = await send(port, 'GET');
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(reply.body)).toEqual({
      error: { code: 'METRICS_COLLECTION_FAILED', message: 'Collecting metrics failed: sensor unplugged' },
    });
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('sensor unplugged');
  });

  it('keeps serving when onError itself throws', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken',
      help: 'Throws.',
      registers: [registry],
      collect: () => Promise.reject(new Error('x')),
    });
    const port = await serve(registry, () => {
      throw new Error('logger down');
    });
    expect((await send(port, 'GET')).status).toBe(500);
    expect((await send(port, 'GET')).status).toBe(500);
  });

  it('serves an OpenMetrics registry with its own content type', async () => {
    // prom-client's typings omit the constructor's content-type parameter.
    const OpenMetricsRegistry = Registry as unknown as new (type: string) => Registry<OpenMetricsContentType>;
    const port = await serve(new OpenMetricsRegistry(Registry.OPENMETRICS_CONTENT_TYPE));
    const reply = await send(port, 'GET');
    expect(reply.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(reply.body).toContain('# EOF');
  });

  it.each<[string, unknown, unknown]>([
    ['registry undefined', undefined, undefined],
    ['registry a plain object', {}, undefined],
    ['onError a string', new Registry(), { onError: 'log' }],
    ['options null', new Registry(), null],
  ])('throws ERR_METRICS_INVALID_OPTION for %s', (_what, registry, options) => {
    let error: unknown;
    try {
      metricsHandler(registry as Registry, options as undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MetricsError);
    expect(error).toMatchObject({ code: 'ERR_METRICS_INVALID_OPTION' });
  });
});
