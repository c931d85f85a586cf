import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMetrics,
  MAX_REASONS_PER_UPSTREAM,
  METHOD_LABELS,
  normalizeMethod,
  normalizeReason,
  normalizeStatus,
  type Outcome,
  type ProxyMetrics,
} from '../src/index.js';
import { key, parseExposition, samplesWithPrefix } from './exposition.js';

const A = 'http://127.0.0.1:3001';

async function samples(metrics: ProxyMetrics, name: string): Promise<Record<string, number>> {
  return samplesWithPrefix(parseExposition(await metrics.registry.metrics()), name);
}

describe('normalizeMethod', () => {
  it.each([
    ['GET', 'GET'],
    ['HEAD', 'HEAD'],
    ['POST', 'POST'],
    ['PUT', 'PUT'],
    ['PATCH', 'PATCH'],
    ['DELETE', 'DELETE'],
    ['OPTIONS', 'OPTIONS'],
    ['CONNECT', 'CONNECT'],
    ['TRACE', 'TRACE'],
    ['get', 'OTHER'],
    ['Post', 'OTHER'],
    ['PROPFIND', 'OTHER'],
    ['PURGE', 'OTHER'],
    ['', 'OTHER'],
    [' GET', 'OTHER'],
    ['GET\r\n', 'OTHER'],
    ['OTHER', 'OTHER'],
    ['__proto__', 'OTHER'],
  ])('maps %j to %s', (method, label) => {
    expect(normalizeMethod(method)).toBe(label);
  });

  it('maps non-strings to OTHER', () => {
    for (const junk of [undefined, null, 42, {}, Symbol('GET')])
      expect(normalizeMethod(junk as never)).toBe('OTHER');
  });

  it('always returns one of the ten label values', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(METHOD_LABELS).toContain(normalizeMethod(s));
      }),
    );
  });
});

describe('normalizeStatus', () => {
  it.each([
    [100, '100'],
    [200, '200'],
    [204, '204'],
    [404, '404'],
    [599, '599'],
    [99, 'other'],
    [600, 'other'],
    [0, 'other'],
    [-200, 'other'],
    [200.5, 'other'],
    [NaN, 'other'],
    [Infinity, 'other'],
  ])('maps %s to %j', (status, label) => {
    expect(normalizeStatus(status)).toBe(label);
  });

  it('maps non-numbers to other', () => {
    for (const junk of ['200', undefined, null, {}]) expect(normalizeStatus(junk as never)).toBe('other');
  });
});

describe('normalizeReason', () => {
  it.each([
    ['ECONNREFUSED', 'ECONNREFUSED'],
    ['ECONNRESET', 'ECONNRESET'],
    ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'],
    ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'],
    ['E2BIG', 'E2BIG'],
    [`E${'X'.repeat(63)}`, `E${'X'.repeat(63)}`],
    [`E${'X'.repeat(64)}`, 'OTHER'],
    ['econnrefused', 'OTHER'],
    ['connect ECONNREFUSED 127.0.0.1:3001', 'OTHER'],
    ['_PRIVATE', 'OTHER'],
    ['1ABC', 'OTHER'],
    ['', 'OTHER'],
    ['ECONN\nREFUSED', 'OTHER'],
    ['ECONNREFUSED\n', 'OTHER'],
  ])('maps %j to %j', (reason, label) => {
    expect(normalizeReason(reason)).toBe(label);
  });

  it('maps non-strings to OTHER', () => {
    for (const junk of [undefined, null, 111, { code: 'X' }])
      expect(normalizeReason(junk as never)).toBe('OTHER');
  });
});

describe('bounded labels in the exposition', () => {
  it('counts a non-standard method as OTHER and an out-of-range status as other', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    for (const method of ['PROPFIND', 'get', 'X'.repeat(10_000)]) {
      a.requestStarted();
      a.requestFinished(method, 0, 'client_abort', 0.25);
    }
    expect(await samples(metrics, 'roundguard_requests_total')).toEqual({
      [key('roundguard_requests_total', {
        upstream: A,
        method: 'OTHER',
        code: 'other',
        outcome: 'client_abort',
      })]: 3,
    });
  });

  it('counts junk error reasons as OTHER', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    a.upstreamError('ECONNREFUSED');
    a.upstreamError('socket hang up');
    a.upstreamError('ECONNREFUSED');
    a.upstreamError('');
    a.upstreamError(undefined as never);
    expect(await samples(metrics, 'roundguard_upstream_errors_total')).toEqual({
      [key('roundguard_upstream_errors_total', { upstream: A, reason: 'ECONNREFUSED' })]: 2,
      [key('roundguard_upstream_errors_total', { upstream: A, reason: 'OTHER' })]: 3,
    });
  });

  it(`keeps at most ${MAX_REASONS_PER_UPSTREAM} distinct reasons per upstream, then counts OTHER`, async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    for (let i = 0; i < MAX_REASONS_PER_UPSTREAM + 10; i++) a.upstreamError(`E_GENERATED_${i}`);
    a.upstreamError('E_GENERATED_0'); // already known: still counted under its own name
    const got = await samples(metrics, 'roundguard_upstream_errors_total');
    expect(Object.keys(got)).toHaveLength(MAX_REASONS_PER_UPSTREAM + 1);
    expect(got[key('roundguard_upstream_errors_total', { upstream: A, reason: 'OTHER' })]).toBe(10);
    expect(got[key('roundguard_upstream_errors_total', { upstream: A, reason: 'E_GENERATED_0' })]).toBe(2);
  });

  it('escapes an upstream URL with quotes and backslashes in the exposition', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const url = 'http://host:1/a"b\\c';
    metrics.upstream(url).requestStarted();
    expect(await samples(metrics, 'roundguard_requests_in_flight')).toEqual({
      [key('roundguard_requests_in_flight', { upstream: url })]: 1,
    });
  });
});

describe('closed label sets and values', () => {
  it.each([
    [
      'an unknown outcome',
      (m: ProxyMetrics) => m.upstream(A).requestFinished('GET', 200, 'success' as Outcome, 0.1),
      'ERR_METRICS_INVALID_LABEL',
      /`outcome`.*"success"/,
    ],
    [
      'a NaN duration',
      (m: ProxyMetrics) => m.upstream(A).requestFinished('GET', 200, 'ok', NaN),
      'ERR_METRICS_INVALID_VALUE',
      /`durationSeconds`.*`NaN`/,
    ],
    [
      'a negative duration',
      (m: ProxyMetrics) => m.upstream(A).requestFinished('GET', 200, 'ok', -1),
      'ERR_METRICS_INVALID_VALUE',
      /`-1` \(number\)/,
    ],
    [
      'an infinite ttfb',
      (m: ProxyMetrics) => m.upstream(A).ttfb(Infinity),
      'ERR_METRICS_INVALID_VALUE',
      /`Infinity`/,
    ],
    [
      'a string ttfb',
      (m: ProxyMetrics) => m.upstream(A).ttfb('0.1' as never),
      'ERR_METRICS_INVALID_VALUE',
      /`"0.1"` \(string\)/,
    ],
    [
      'an unknown transition',
      (m: ProxyMetrics) => m.upstream(A).transition('sideways' as never),
      'ERR_METRICS_INVALID_LABEL',
      /`to`/,
    ],
    [
      'an unknown health result',
      (m: ProxyMetrics) => m.upstream(A).healthCheck('fine' as never, 0.1),
      'ERR_METRICS_INVALID_LABEL',
      /`result`/,
    ],
    [
      'a non-boolean setUp',
      (m: ProxyMetrics) => m.upstream(A).setUp(1 as never),
      'ERR_METRICS_INVALID_VALUE',
      /`up`.*`1` \(number\)/,
    ],
    [
      'an unknown upstream state',
      (m: ProxyMetrics) => m.upstream(A).setState('ready' as never),
      'ERR_METRICS_INVALID_LABEL',
      /`state` to be one of 'up', 'down', 'ejected', 'draining', 'maint', got `"ready"` \(string\)/,
    ],
    [
      'an unknown DNS lookup result',
      (m: ProxyMetrics) => m.dnsLookup('echo.internal', 'nxdomain' as never),
      'ERR_METRICS_INVALID_LABEL',
      /`result` to be one of 'ok', 'empty', 'error', got `"nxdomain"` \(string\)/,
    ],
    [
      'a DNS name with a space',
      (m: ProxyMetrics) => m.dnsLookup('echo internal', 'ok'),
      'ERR_METRICS_INVALID_LABEL',
      /`name` to be a DNS name.*`"echo internal"` \(string\)/,
    ],
    [
      'an empty DNS name',
      (m: ProxyMetrics) => m.dnsLookup('', 'ok'),
      'ERR_METRICS_INVALID_LABEL',
      /`name`.*`""` \(string\)/,
    ],
    [
      'a DNS name over 253 characters',
      (m: ProxyMetrics) => m.dnsLookup('a'.repeat(254), 'ok'),
      'ERR_METRICS_INVALID_LABEL',
      /`name`/,
    ],
    [
      'a non-string DNS name',
      (m: ProxyMetrics) => m.dnsLookup(42 as never, 'ok'),
      'ERR_METRICS_INVALID_LABEL',
      /`name`.*`42` \(number\)/,
    ],
    ['an empty upstream URL', (m: ProxyMetrics) => m.upstream(''), 'ERR_METRICS_INVALID_LABEL', /`url`/],
    [
      'a non-string upstream URL',
      (m: ProxyMetrics) => m.upstream(undefined as never),
      'ERR_METRICS_INVALID_LABEL',
      /`url`/,
    ],
  ])('throws for %s and records nothing', async (_what, call, code, message) => {
    const metrics = createMetrics({ defaultMetrics: false });
    let error: unknown;
    try {
      call(metrics);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ name: 'MetricsError', code });
    expect((error as Error).message).toMatch(message);
    const got = samplesWithPrefix(parseExposition(await metrics.registry.metrics()), 'roundguard_');
    const recorded = Object.entries(got).filter(
      ([k, v]) => v !== 0 && !k.startsWith('roundguard_requests_in_flight'),
    );
    expect(recorded).toEqual([]);
  });
});
