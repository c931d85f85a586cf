import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHttpServerMetrics, createMetrics, MetricsError, type MetricsOptions } from '../src/index.js';

function thrown(fn: () => unknown): MetricsError {
  try {
    fn();
  } catch (err) {
    return err as MetricsError;
  }
  throw new Error('expected a throw');
}

describe('option validation', () => {
  it.each<[string, unknown, RegExp]>([
    ['options null', null, /`createMetrics\(\) options`.*`null` \(null\)/],
    ['options a string', 'roundguard_', /options`.*"roundguard_"` \(string\)/],
    ['options an array', [], /options`.*`\[\]` \(array\)/],
    ['registry not a registry', { registry: {} }, /`registry`.*`\{\}` \(object\)/],
    [
      'registry OpenMetrics',
      {
        registry: new (Registry as unknown as new (type: string) => Registry)(
          Registry.OPENMETRICS_CONTENT_TYPE,
        ),
      },
      /`registry`.*application\/openmetrics-text/,
    ],
    ['prefix with a dash', { prefix: 'my-app_' }, /`prefix`.*`"my-app_"` \(string\)/],
    ['prefix starting with a digit', { prefix: '1x_' }, /`prefix`.*"1x_"/],
    ['prefix with a colon', { prefix: 'a:b_' }, /`prefix`/],
    ['prefix a number', { prefix: 42 }, /`prefix`.*`42` \(number\)/],
    ['defaultMetrics a string', { defaultMetrics: 'yes' }, /`defaultMetrics`.*a boolean.*"yes"/],
    ['labels an array', { labels: ['a'] }, /`labels`.*\(array\)/],
    ['labels with a bad name', { labels: { 'bad-name': 'x' } }, /`labels`.*"bad-name"/],
    ['labels with a reserved name', { labels: { upstream: 'x' } }, /`labels`.*"upstream"/],
    ['labels with a __ name', { labels: { __name__: 'x' } }, /`labels`.*"__name__"/],
    [
      'labels with a non-string value',
      { labels: { region: 1 } },
      /`labels.region`.*a string.*`1` \(number\)/,
    ],
    ['durationBuckets empty', { durationBuckets: [] }, /`durationBuckets`.*`\[\]`/],
    ['durationBuckets decreasing', { durationBuckets: [1, 0.5] }, /`durationBuckets`.*`\[1,0.5\]`/],
    ['durationBuckets with a duplicate', { durationBuckets: [1, 1] }, /`durationBuckets`/],
    ['durationBuckets with zero', { durationBuckets: [0, 1] }, /`durationBuckets`/],
    ['durationBuckets with Infinity', { durationBuckets: [1, Infinity] }, /`durationBuckets`/],
    ['durationBuckets with a string', { durationBuckets: ['1'] }, /`durationBuckets`/],
    [
      'durationBuckets too many',
      { durationBuckets: Array.from({ length: 65 }, (_, i) => i + 1) },
      /`durationBuckets`/,
    ],
  ])('throws ERR_METRICS_INVALID_OPTION for %s, naming the value received', (_what, options, message) => {
    const err = thrown(() => createMetrics(options as MetricsOptions));
    expect(err).toBeInstanceOf(MetricsError);
    expect(err).toMatchObject({ name: 'MetricsError', code: 'ERR_METRICS_INVALID_OPTION' });
    expect(err.message).toMatch(message);
  });

  it('validates createHttpServerMetrics options the same way', () => {
    const err = thrown(() => createHttpServerMetrics({ prefix: 'a b' }));
    expect(err).toMatchObject({ code: 'ERR_METRICS_INVALID_OPTION' });
    expect(err.message).toMatch(/`prefix`.*"a b"/);
  });

  it('accepts an empty prefix and undefined options', () => {
    const metrics = createMetrics({ prefix: '', defaultMetrics: false });
    expect(metrics.registry.getSingleMetric('requests_total')).toBe(metrics.requestsTotal);
    expect(() => createMetrics(undefined)).not.toThrow();
  });

  it('leaves a given registry untouched when an option is invalid', () => {
    const registry = new Registry();
    expect(() => createMetrics({ registry, labels: { le: 'x' } })).toThrow(MetricsError);
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});

describe('registering into a registry that is in use', () => {
  it('throws ERR_METRICS_ALREADY_REGISTERED, registering nothing, when the names are taken', () => {
    const registry = new Registry();
    createMetrics({ registry, defaultMetrics: false });
    const count = registry.getMetricsAsArray().length;
    const err = thrown(() => createMetrics({ registry }));
    expect(err).toMatchObject({ name: 'MetricsError', code: 'ERR_METRICS_ALREADY_REGISTERED' });
    expect(err.message).toContain('`roundguard_requests_total`');
    expect(registry.getMetricsAsArray().length).toBe(count);
  });

  it('allows a second set under another prefix in the same registry', () => {
    const registry = new Registry();
    createMetrics({ registry, defaultMetrics: false });
    const other = createMetrics({ registry, prefix: 'canary_', defaultMetrics: false });
    expect(registry.getSingleMetric('canary_requests_total')).toBe(other.requestsTotal);
  });

  it('shares one registry between proxy and HTTP server metrics, collecting default metrics once', async () => {
    const registry = new Registry();
    createMetrics({ registry });
    const server = createHttpServerMetrics({ registry });
    server.requestStarted();
    const text = await registry.metrics();
    expect(text.match(/^# TYPE process_cpu_seconds_total /gm)).toHaveLength(1);
    expect(text).toContain('roundguard_http_requests_in_flight 1');
    expect(text).toContain('# TYPE roundguard_requests_total counter');
  });
});
