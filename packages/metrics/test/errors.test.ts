import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, metricsHandler, MetricsError } from '../src/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('MetricsError', () => {
  const registry = new Registry();
  createMetrics({ registry, defaultMetrics: false });
  const metrics = createMetrics({ defaultMetrics: false });

  it.each([
    ['a bad option', () => createMetrics({ prefix: 'my-app' }), 'ERR_METRICS_INVALID_OPTION'],
    ['a bad metricsHandler registry', () => metricsHandler(null as never), 'ERR_METRICS_INVALID_OPTION'],
    ['names already registered', () => createMetrics({ registry }), 'ERR_METRICS_ALREADY_REGISTERED'],
    ['an empty upstream URL', () => metrics.upstream(''), 'ERR_METRICS_INVALID_LABEL'],
    [
      'a non-boolean setUp',
      () => metrics.upstream('http://127.0.0.1:1').setUp(1 as never),
      'ERR_METRICS_INVALID_VALUE',
    ],
  ])('is a TypeError with an ERR_* code and a name, for %s', (_what, call, code) => {
    const err = thrown(call);
    expect(err).toBeInstanceOf(MetricsError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ name: 'MetricsError', code });
    expect((err as Error).message).toMatch(/^Expected |^The registry already has/);
  });

  it('keeps a cause', () => {
    const cause = new Error('inner');
    expect(new MetricsError('ERR_METRICS_INVALID_OPTION', 'm', { cause }).cause).toBe(cause);
  });
});
