import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, NO_UPSTREAM, type ProxyMetrics, type UpstreamMetrics } from '../src/index.js';
import { bufferedHistogramsSupported, setBufferedHistogramsSupported } from '../src/histogram-store.js';
import { key, parseExposition, samplesWithPrefix } from './exposition.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';

async function scrape(metrics: ProxyMetrics): Promise<Record<string, number>> {
  return samplesWithPrefix(parseExposition(await metrics.registry.metrics()), 'roundguard_');
}

function upstreamsIn(samples: Record<string, number>): Set<string> {
  return new Set(Object.keys(samples).map((k) => /upstream="([^"]*)"/.exec(k)?.[1] ?? ''));
}

function touchEverything(up: UpstreamMetrics): void {
  up.setUp(true);
  up.transition('up');
  up.healthCheck('ok', 0.25);
  up.requestStarted();
  up.ttfb(0.125);
  up.requestFinished('GET', 200, 'ok', 0.25);
  up.requestStarted();
  up.requestFinished('PUT', 504, 'timeout', 0.5);
  up.upstreamError('UND_ERR_HEADERS_TIMEOUT');
  up.upstreamError('weird');
}

afterEach(() => setBufferedHistogramsSupported(undefined));

describe('ProxyMetrics.upstream', () => {
  it('buffers histograms with the installed prom-client (the fast path is really in use)', () => {
    setBufferedHistogramsSupported(undefined);
    expect(bufferedHistogramsSupported()).toBe(true);
  });

  it('returns the same cached handle for the same URL', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    expect(metrics.upstream(A)).toBe(a);
    expect(metrics.upstream(B)).not.toBe(a);
    expect(a.upstream).toBe(A);
    expect(metrics.upstream(NO_UPSTREAM).upstream).toBe('none');
  });

  it('exports in-flight at 0 from the first call, and upstream_up only after setUp', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A);
    expect(await scrape(metrics)).toEqual({ [key('roundguard_requests_in_flight', { upstream: A })]: 0 });
    metrics.upstream(A).setUp(true);
    expect(await scrape(metrics)).toEqual({
      [key('roundguard_requests_in_flight', { upstream: A })]: 0,
      [key('roundguard_upstream_up', { upstream: A })]: 1,
    });
  });

  it('tracks requests in flight per upstream', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    const b = metrics.upstream(B);
    a.requestStarted();
    a.requestStarted();
    b.requestStarted();
    a.requestFinished('GET', 200, 'ok', 0.25);
    const samples = await scrape(metrics);
    expect(samples[key('roundguard_requests_in_flight', { upstream: A })]).toBe(1);
    expect(samples[key('roundguard_requests_in_flight', { upstream: B })]).toBe(1);
  });

  it('counts every outcome separately for the same method and status', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    const outcomes = ['ok', 'upstream_error', 'timeout', 'no_upstream', 'client_abort', 'rejected'] as const;
    outcomes.forEach((outcome, i) => {
      for (let n = 0; n <= i; n++) {
        a.requestStarted();
        a.requestFinished('GET', 200, outcome, 0.25);
      }
    });
    const samples = await scrape(metrics);
    outcomes.forEach((outcome, i) => {
      expect(
        samples[key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome })],
      ).toBe(i + 1);
    });
    expect(
      samples[key('roundguard_request_duration_seconds_count', { upstream: A, method: 'GET', code: '200' })],
    ).toBe(21);
  });
});

describe('ProxyMetrics.removeUpstream', () => {
  it.each([
    ['buffered', true],
    ['fallback', false],
  ])('drops every series of the removed upstream only (%s histograms)', async (_mode, buffered) => {
    setBufferedHistogramsSupported(buffered);
    const metrics = createMetrics({ defaultMetrics: false });
    touchEverything(metrics.upstream(A));
    touchEverything(metrics.upstream(B));
    const before = await scrape(metrics);
    expect(upstreamsIn(before)).toEqual(new Set([A, B]));

    metrics.removeUpstream(A);
    const after = await scrape(metrics);
    expect(upstreamsIn(after)).toEqual(new Set([B]));
    const onlyB = Object.fromEntries(Object.entries(before).filter(([k]) => k.includes(`upstream="${B}"`)));
    expect(after).toEqual(onlyB);
  });

  it('makes handles obtained earlier ignore further calls, and upstream(url) start afresh', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const old = metrics.upstream(A);
    old.requestStarted();
    metrics.removeUpstream(A);
    touchEverything(old);
    old.requestFinished('GET', 200, 'ok', 0.25);
    expect(await scrape(metrics)).toEqual({});

    const fresh = metrics.upstream(A);
    expect(fresh).not.toBe(old);
    fresh.requestStarted();
    fresh.requestFinished('GET', 200, 'ok', 0.25);
    const samples = await scrape(metrics);
    expect(samples[key('roundguard_requests_in_flight', { upstream: A })]).toBe(0);
    expect(
      samples[key('roundguard_requests_total', { upstream: A, method: 'GET', code: '200', outcome: 'ok' })],
    ).toBe(1);
  });

  it('ignores unknown URLs', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(() => metrics.removeUpstream('http://nowhere:1')).not.toThrow();
  });
});
