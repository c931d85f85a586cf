import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, DEFAULT_DURATION_BUCKETS, NO_UPSTREAM, type ProxyMetrics } from '../src/index.js';
import { setBufferedHistogramsSupported } from '../src/histogram-store.js';
import { histogramSamples, key, parseExposition, samplesWithPrefix } from './exposition.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';
const bounds = DEFAULT_DURATION_BUCKETS;

/** Cumulative bucket counts (`le` semantics: value <= bound) of `values`. */
function cumulative(values: readonly number[]): number[] {
  return bounds.map((b) => values.filter((v) => v <= b).length);
}

function histogram(
  name: string,
  labels: Record<string, string>,
  values: readonly number[],
): Record<string, number> {
  return histogramSamples(
    name,
    labels,
    bounds,
    cumulative(values),
    values.length,
    values.reduce((s, v) => s + v, 0),
  );
}

async function scrape(metrics: ProxyMetrics, prefix = 'roundguard_'): Promise<Record<string, number>> {
  return samplesWithPrefix(parseExposition(await metrics.registry.metrics()), prefix);
}

/** Records a fixed scenario touching every metric; durations are exact binary fractions so sums compare exactly. */
function recordScenario(metrics: ProxyMetrics): void {
  const a = metrics.upstream(A);
  a.setUp(true);
  a.requestStarted();
  a.ttfb(0.0625);
  a.requestFinished('GET', 200, 'ok', 0.125);
  a.requestStarted();
  a.ttfb(0.001); // exactly on the first bound: counted in le="0.001"
  a.requestFinished('GET', 200, 'ok', 0.5);
  a.requestStarted();
  a.requestFinished('POST', 502, 'upstream_error', 20); // above the last bound: only in le="+Inf"
  a.upstreamError('ECONNRESET');
  a.requestStarted(); // still in flight at scrape time
  a.healthCheck('ok', 0.00390625);
  a.healthCheck('timeout', 1);
  a.transition('down');
  a.setUp(false);

  const none = metrics.upstream(NO_UPSTREAM);
  none.requestStarted();
  none.requestFinished('GET', 503, 'no_upstream', 0.0009765625);
}

function expectedScenario(): Record<string, number> {
  const a = { upstream: A };
  const none = { upstream: NO_UPSTREAM };
  return {
    [key('roundguard_requests_total', { ...a, method: 'GET', code: '200', outcome: 'ok' })]: 2,
    [key('roundguard_requests_total', { ...a, method: 'POST', code: '502', outcome: 'upstream_error' })]: 1,
    [key('roundguard_requests_total', { ...none, method: 'GET', code: '503', outcome: 'no_upstream' })]: 1,
    ...histogram('roundguard_request_duration_seconds', { ...a, method: 'GET', code: '200' }, [0.125, 0.5]),
    ...histogram('roundguard_request_duration_seconds', { ...a, method: 'POST', code: '502' }, [20]),
    ...histogram(
      'roundguard_request_duration_seconds',
      { ...none, method: 'GET', code: '503' },
      [0.0009765625],
    ),
    ...histogram('roundguard_upstream_ttfb_seconds', a, [0.0625, 0.001]),
    [key('roundguard_requests_in_flight', a)]: 1,
    [key('roundguard_requests_in_flight', none)]: 0,
    [key('roundguard_upstream_errors_total', { ...a, reason: 'ECONNRESET' })]: 1,
    [key('roundguard_upstream_up', a)]: 0,
    [key('roundguard_upstream_transitions_total', { ...a, to: 'up' })]: 0,
    [key('roundguard_upstream_transitions_total', { ...a, to: 'down' })]: 1,
    [key('roundguard_health_checks_total', { ...a, result: 'ok' })]: 1,
    [key('roundguard_health_checks_total', { ...a, result: 'bad_status' })]: 0,
    [key('roundguard_health_checks_total', { ...a, result: 'error' })]: 0,
    [key('roundguard_health_checks_total', { ...a, result: 'timeout' })]: 1,
    ...histogram('roundguard_health_check_duration_seconds', a, [0.00390625, 1]),
  };
}

afterEach(() => setBufferedHistogramsSupported(undefined));

describe('createMetrics exposition', () => {
  it('carries exactly the expected samples after recording requests', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    recordScenario(metrics);
    expect(await scrape(metrics)).toEqual(expectedScenario());
  });

  it('declares the proxy metric table: names, types and help', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    recordScenario(metrics);
    const { types, help } = parseExposition(await metrics.registry.metrics());
    expect(Object.fromEntries(types)).toEqual({
      roundguard_requests_total: 'counter',
      roundguard_request_duration_seconds: 'histogram',
      roundguard_upstream_ttfb_seconds: 'histogram',
      roundguard_requests_in_flight: 'gauge',
      roundguard_upstream_errors_total: 'counter',
      roundguard_upstream_up: 'gauge',
      roundguard_upstream_transitions_total: 'counter',
      roundguard_health_checks_total: 'counter',
      roundguard_health_check_duration_seconds: 'histogram',
      roundguard_upstream_state: 'gauge',
      roundguard_upstream_ejections_total: 'counter',
      roundguard_retries_total: 'counter',
      roundguard_dns_lookups_total: 'counter',
      roundguard_admin_changes_total: 'counter',
    });
    for (const name of types.keys()) expect(help.get(name)).toMatch(/\S/);
  });

  it('produces the same exposition when histograms fall back to prom-client observe()', async () => {
    setBufferedHistogramsSupported(false);
    const metrics = createMetrics({ defaultMetrics: false });
    recordScenario(metrics);
    expect(await scrape(metrics)).toEqual(expectedScenario());
  });

  it('accumulates across scrapes without double counting', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    a.requestStarted();
    a.requestFinished('GET', 200, 'ok', 0.25);
    const first = await scrape(metrics);
    expect(
      first[key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' })],
    ).toBe(1);
    expect(await scrape(metrics)).toEqual(first);
    a.requestStarted();
    a.requestFinished('GET', 200, 'ok', 0.5);
    const third = await scrape(metrics);
    expect(third).toEqual({
      [key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' })]: 2,
      ...histogram(
        'roundguard_request_duration_seconds',
        { upstream: A, method: 'GET', code: '200' },
        [0.25, 0.5],
      ),
      [key('roundguard_requests_in_flight', { upstream: A })]: 0,
    });
  });

  it('adds what the hot path recorded to direct use of the exposed prom-client handles', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const labels = { upstream: A, method: 'GET', code: '200' };
    metrics.requestsTotal.inc({ ...labels, outcome: 'ok' }, 5);
    metrics.requestDuration.observe(labels, 0.25);
    metrics.upstream(A).requestStarted();
    metrics.upstream(A).requestFinished('GET', 200, 'ok', 0.5);
    const samples = await scrape(metrics);
    expect(samples[key('roundguard_requests_total', { ...labels, outcome: 'ok' })]).toBe(6);
    expect(samples).toMatchObject(histogram('roundguard_request_duration_seconds', labels, [0.25, 0.5]));
  });

  it('starts from zero after registry.resetMetrics(), then counts new requests', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    a.requestStarted();
    a.requestFinished('GET', 200, 'ok', 0.25);
    await scrape(metrics);
    metrics.registry.resetMetrics();
    a.requestStarted();
    a.requestFinished('GET', 200, 'ok', 0.5);
    const samples = await scrape(metrics);
    expect(
      samples[key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' })],
    ).toBe(1);
    expect(samples).toMatchObject(
      histogram('roundguard_request_duration_seconds', { upstream: A, method: 'GET', code: '200' }, [0.5]),
    );
  });

  it('makes recorded values visible through the prom-client handles get()', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A).requestStarted();
    metrics.upstream(A).requestFinished('DELETE', 204, 'ok', 0.25);
    const { values } = await metrics.requestsTotal.get();
    expect(values).toEqual([
      { value: 1, labels: { upstream: A, method: 'DELETE', code: '204', outcome: 'ok' } },
    ]);
  });

  it('applies the prefix to its own metrics only and `labels` to every metric', async () => {
    const metrics = createMetrics({ prefix: 'edge_', labels: { service: 'lb', zone: 'a' } });
    metrics.upstream(A).requestStarted();
    const { samples, types } = parseExposition(await metrics.registry.metrics());
    expect(samples.get(key('edge_requests_in_flight', { upstream: A, service: 'lb', zone: 'a' }))).toBe(1);
    expect([...types.keys()].filter((n) => n.startsWith('roundguard_'))).toEqual([]);
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    for (const sample of samples.keys()) expect(sample).toContain('service="lb"');
  });

  it('includes prom-client default metrics under their standard names, without the lint-failing *_total gauges', async () => {
    const metrics = createMetrics();
    const { types } = parseExposition(await metrics.registry.metrics());
    for (const name of [
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_active_handles',
      'nodejs_version_info',
    ]) {
      expect(types.has(name), name).toBe(true);
    }
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      expect(types.has(name), name).toBe(false);
    }
  });

  it('registers no default metrics with defaultMetrics: false', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const { types } = parseExposition(await metrics.registry.metrics());
    expect([...types.keys()].every((n) => n.startsWith('roundguard_'))).toBe(true);
  });

  it('uses custom durationBuckets for all three duration histograms', async () => {
    const metrics = createMetrics({ defaultMetrics: false, durationBuckets: [0.5, 2] });
    const a = metrics.upstream(A);
    a.requestStarted();
    a.ttfb(0.25);
    a.requestFinished('GET', 200, 'ok', 1);
    a.healthCheck('ok', 3);
    const samples = await scrape(metrics);
    expect(samples).toMatchObject(
      histogramSamples(
        'roundguard_request_duration_seconds',
        { upstream: A, method: 'GET', code: '200' },
        [0.5, 2],
        [0, 1],
        1,
        1,
      ),
    );
    expect(samples).toMatchObject(
      histogramSamples('roundguard_upstream_ttfb_seconds', { upstream: A }, [0.5, 2], [1, 1], 1, 0.25),
    );
    expect(samples).toMatchObject(
      histogramSamples('roundguard_health_check_duration_seconds', { upstream: A }, [0.5, 2], [0, 0], 1, 3),
    );
    expect(Object.keys(samples).filter((k) => k.includes('le="0.001"'))).toEqual([]);
  });

  it('lets two instances live in one process without sharing anything', async () => {
    const one = createMetrics();
    const two = createMetrics();
    expect(one.registry).not.toBe(two.registry);
    one.upstream(A).requestStarted();
    one.upstream(A).requestFinished('GET', 200, 'ok', 0.25);
    two.upstream(B).requestStarted();
    const s1 = await scrape(one);
    const s2 = await scrape(two);
    expect(Object.keys(s1).some((k) => k.includes(B))).toBe(false);
    expect(Object.keys(s2).some((k) => k.includes(A))).toBe(false);
    expect(s2[key('roundguard_requests_in_flight', { upstream: B })]).toBe(1);
    expect(
      s1[key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' })],
    ).toBe(1);
  });

  it("never registers in prom-client's global registry", async () => {
    const { register } = await import('prom-client');
    const before = register.getMetricsAsArray().length;
    createMetrics();
    expect(register.getMetricsAsArray().length).toBe(before);
  });

  it('uses a given registry, next to metrics already in it', () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, defaultMetrics: false });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('roundguard_requests_total')).toBe(metrics.requestsTotal);
  });
});
