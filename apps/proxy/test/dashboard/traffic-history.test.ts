// TrafficHistory with an injected clock: per-second counts, the ring wrapping around, error share, latency
// quantiles within the stated accuracy, bounded memory, removal and argument errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketQuantile,
  LATENCY_BUCKETS,
  latencyBucket,
  MAX_LATENCY_SECONDS,
  MIN_LATENCY_SECONDS,
  QUANTILE_RELATIVE_ERROR,
} from '../../src/dashboard/latency-buckets.js';
import {
  SPARKLINE_POINTS,
  SPARKLINE_STEP_SECONDS,
  TrafficHistory,
  type UpstreamTraffic,
} from '../../src/dashboard/traffic-history.js';

/** A history on a clock the test moves by hand (milliseconds). */
function fakeClock(startMs = 0) {
  const clock = { ms: startMs };
  const history = new TrafficHistory({ now: () => clock.ms });
  return { clock, history };
}

function of(history: TrafficHistory, name: string): UpstreamTraffic {
  const t = history.snapshot().get(name);
  if (t === undefined) throw new Error(`no traffic for ${name}`);
  return t;
}

/** Nearest-rank quantile of a list of numbers. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

describe('TrafficHistory counts', () => {
  it('gives req/s as the mean of the last 5 complete seconds, not counting the current one', () => {
    const { clock, history } = fakeClock(100_000);
    const a = history.upstream('a');
    const perSecond = [1, 2, 3, 4, 5, 6, 7];
    for (const [i, n] of perSecond.entries()) {
      clock.ms = 100_000 + i * 1000 + 500;
      for (let k = 0; k < n; k++) a.record(200, 0.001);
    }
    // Seconds 100..106 hold 1..7; at 106.5 the last complete seconds are 101..105 (2..6).
    expect(of(history, 'a').requestsPerSecond).toBe((2 + 3 + 4 + 5 + 6) / 5);
    clock.ms = 107_000;
    expect(of(history, 'a').requestsPerSecond).toBe((3 + 4 + 5 + 6 + 7) / 5);
    clock.ms = 120_000;
    expect(of(history, 'a').requestsPerSecond).toBe(0);
  });

  it('keeps a 5-minute sparkline of 5-second means and forgets what is older after wrapping around', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    // Ten minutes of traffic: second s gets (s % 7) requests.
    for (let s = 0; s < 600; s++) {
      clock.ms = s * 1000 + 250;
      for (let k = 0; k < s % 7; k++) a.record(200, 0.002);
    }
    clock.ms = 600_000; // second 600 has just begun: the sparkline covers seconds 300..599
    const { sparkline } = of(history, 'a');
    expect(sparkline).toHaveLength(SPARKLINE_POINTS);
    expect(SPARKLINE_POINTS * SPARKLINE_STEP_SECONDS).toBe(300);
    const expected = Array.from({ length: 60 }, (_, i) => {
      let sum = 0;
      for (let s = 300 + i * 5; s < 305 + i * 5; s++) sum += s % 7;
      return sum / 5;
    });
    expect(sparkline).toEqual(expected);
    // The last minute at 600.0 is seconds 541..600, and 600 is still empty.
    let lastMinute = 0;
    for (let s = 541; s < 600; s++) lastMinute += s % 7;
    expect(of(history, 'a').requestsLastMinute).toBe(lastMinute);
  });

  it('counts the current second and the 59 before it as the last minute', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    for (let s = 0; s < 120; s++) {
      clock.ms = s * 1000;
      a.record(200, 0.001);
    }
    // Seconds 60..119 are the last minute at 119.x.
    clock.ms = 119_900;
    expect(of(history, 'a').requestsLastMinute).toBe(60);
    clock.ms = 120_000;
    expect(of(history, 'a').requestsLastMinute).toBe(59);
  });

  it('shows a sparkline that starts with zeros for an upstream younger than 5 minutes', () => {
    const { clock, history } = fakeClock(1_000_000);
    const a = history.upstream('a');
    for (let s = 0; s < 10; s++) {
      clock.ms = 1_000_000 + s * 1000;
      for (let k = 0; k < 10; k++) a.record(200, 0.001);
    }
    clock.ms = 1_010_000;
    const { sparkline } = of(history, 'a');
    expect(sparkline.slice(0, 58).every((v) => v === 0)).toBe(true);
    expect(sparkline.slice(58)).toEqual([10, 10]);
  });

  it('clears everything after a gap longer than the ring', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    for (let s = 0; s < 300; s++) {
      clock.ms = s * 1000;
      a.record(500, 0.5);
    }
    clock.ms = 5_000_000;
    const t = of(history, 'a');
    expect(t.sparkline.every((v) => v === 0)).toBe(true);
    expect(t).toMatchObject({ requestsLastMinute: 0, errorShare: null, p50Ms: null, p99Ms: null });
    a.record(200, 0.001);
    expect(of(history, 'a')).toMatchObject({ requestsLastMinute: 1, errorsLastMinute: 0, errorShare: 0 });
  });

  it('counts a clock that went back in the newest second', () => {
    const { clock, history } = fakeClock(50_000);
    const a = history.upstream('a');
    a.record(200, 0.001);
    clock.ms = 40_000;
    a.record(200, 0.001);
    clock.ms = 51_000;
    expect(of(history, 'a').sparkline.at(-1)).toBe(2 / 5);
  });
});

describe('TrafficHistory error share', () => {
  it('counts 5xx answers and failures without an answer (status 0) over the requests of the last minute', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    for (const status of [200, 201, 404, 499, 500, 502, 504, 0, 200, 301]) a.record(status, 0.01);
    let t = of(history, 'a');
    expect(t.requestsLastMinute).toBe(10);
    expect(t.errorsLastMinute).toBe(4);
    expect(t.errorShare).toBeCloseTo(0.4, 12);
    clock.ms = 30_000;
    for (let k = 0; k < 10; k++) a.record(200, 0.01);
    expect(of(history, 'a').errorShare).toBeCloseTo(4 / 20, 12);
    clock.ms = 60_000; // second 0 is out of the minute
    t = of(history, 'a');
    expect(t).toMatchObject({ requestsLastMinute: 10, errorsLastMinute: 0, errorShare: 0 });
  });

  it('is null without requests', () => {
    const { history } = fakeClock(0);
    history.upstream('a');
    expect(of(history, 'a')).toMatchObject({
      requestsPerSecond: 0,
      requestsLastMinute: 0,
      errorShare: null,
      p50Ms: null,
      p99Ms: null,
    });
  });
});

describe('TrafficHistory latency', () => {
  it('gives p50 and p99 over the last minute only', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    // Second 0: 100 slow requests (2 s); second 30: 150 fast ones (1 ms) and two at 40 ms.
    for (let k = 0; k < 100; k++) a.record(200, 2);
    clock.ms = 30_000;
    for (let k = 0; k < 150; k++) a.record(200, 0.001);
    a.record(200, 0.04);
    a.record(200, 0.04);
    clock.ms = 59_999;
    let t = of(history, 'a');
    // 252 samples: rank 126 is a fast one, rank 250 a slow one.
    expect(Math.abs(t.p50Ms! - 1) / 1).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    expect(Math.abs(t.p99Ms! - 2000) / 2000).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    clock.ms = 60_000; // the slow second leaves the window: 152 samples, rank 151 is at 40 ms
    t = of(history, 'a');
    expect(Math.abs(t.p50Ms! - 1)).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    expect(Math.abs(t.p99Ms! - 40) / 40).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    clock.ms = 90_000; // and then the fast one
    t = of(history, 'a');
    expect(t.p50Ms).toBeNull();
    expect(t.p99Ms).toBeNull();
  });

  it('estimates quantiles within 4.5 % of the exact nearest-rank sample from 0.1 ms to 200 s', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-4, max: 200, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 0, max: 59 }),
        (durations, spread) => {
          const { clock, history } = fakeClock(0);
          const a = history.upstream('a');
          durations.forEach((d, i) => {
            clock.ms = (i % (spread + 1)) * 1000;
            a.record(200, d);
          });
          clock.ms = spread * 1000 + 999;
          const t = of(history, 'a');
          for (const [q, got] of [
            [0.5, t.p50Ms!],
            [0.99, t.p99Ms!],
          ] as const) {
            const exact = exactQuantile(durations, q) * 1000;
            expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports durations under 0.1 ms as 0.05 ms and those over the top bucket as the top', () => {
    const { history } = fakeClock(0);
    const a = history.upstream('a');
    a.record(200, 0);
    a.record(200, 0.00001);
    a.record(200, 0.00002);
    expect(of(history, 'a').p99Ms).toBe(0.05);
    for (let k = 0; k < 10; k++) a.record(200, 10_000);
    expect(of(history, 'a').p99Ms).toBeCloseTo(MAX_LATENCY_SECONDS * 1000, 6);
  });

  it('puts every duration in a bucket whose middle is within 4.5 % of it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: MIN_LATENCY_SECONDS, max: MAX_LATENCY_SECONDS * 0.999, noNaN: true }),
        (d) => {
          const b = latencyBucket(d);
          expect(b).toBeGreaterThan(0);
          expect(b).toBeLessThan(LATENCY_BUCKETS - 1);
          const counts = new Uint32Array(LATENCY_BUCKETS);
          counts[b] = 1;
          const estimate = bucketQuantile(counts, 1, 0.5)!;
          expect(Math.abs(estimate - d) / d).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('TrafficHistory memory and upstreams', () => {
  it('holds a fixed number of bytes per upstream however much is recorded', () => {
    const { clock, history } = fakeClock(0);
    const a = history.upstream('a');
    const perUpstream = history.byteLength;
    expect(perUpstream).toBe((301 + 301 + 60 * LATENCY_BUCKETS + LATENCY_BUCKETS) * 4);
    expect(perUpstream).toBeLessThan(44 * 1024);
    // 20 minutes at 1,000 requests per second, durations spread over every bucket.
    for (let s = 0; s < 1200; s++) {
      clock.ms = s * 1000;
      for (let k = 0; k < 1000; k++) a.record(k % 10 === 0 ? 503 : 200, 10 ** (-4 + (k % 60) / 10));
    }
    expect(history.byteLength).toBe(perUpstream);
    history.upstream('b');
    expect(history.byteLength).toBe(2 * perUpstream);
    const t = of(history, 'a');
    expect(t.requestsLastMinute).toBe(60_000);
    expect(t.errorShare).toBeCloseTo(0.1, 12);
    expect(t.requestsPerSecond).toBe(1000);
  });

  it('returns the same handle for a name, and forgets an upstream on remove', () => {
    const { history } = fakeClock(0);
    const a = history.upstream('a');
    expect(history.upstream('a')).toBe(a);
    a.record(200, 0.001);
    history.upstream('b').record(200, 0.001);
    expect(history.names()).toEqual(['a', 'b']);
    expect(history.remove('a')).toBe(true);
    expect(history.remove('a')).toBe(false);
    expect([...history.snapshot().keys()]).toEqual(['b']);
    a.record(200, 0.001); // a stale handle is harmless
    expect(history.snapshot().has('a')).toBe(false);
    const again = history.upstream('a');
    expect(again).not.toBe(a);
    expect(of(history, 'a').requestsLastMinute).toBe(0);
    expect(history.byteLength).toBe(2 * ((301 + 301 + 61 * LATENCY_BUCKETS) * 4));
  });

  it('retains only the names given', () => {
    const { history } = fakeClock(0);
    for (const name of ['a', 'b', 'c']) history.upstream(name);
    history.retain(new Set(['c', 'a', 'z']));
    expect(history.names()).toEqual(['a', 'c']);
  });

  it('reads the clock once per record and per snapshot, never on its own', () => {
    let reads = 0;
    const history = new TrafficHistory({ now: () => (reads++, 5000) });
    const a = history.upstream('a');
    reads = 0;
    a.record(200, 0.001);
    expect(reads).toBe(1);
    history.snapshot();
    expect(reads).toBe(2);
    history.snapshot(6000);
    expect(reads).toBe(2);
  });
});

describe('TrafficHistory bad input', () => {
  const { history } = fakeClock(0);
  const a = history.upstream('a');

  it.each([
    [
      'a status of -1',
      () => a.record(-1, 0.1),
      'Expected `status` to be an integer from 0 to 999, got `-1` (number)',
    ],
    ['a status of 1000', () => a.record(1000, 0.1), '`1000` (number)'],
    ['a fractional status', () => a.record(200.5, 0.1), '`200.5` (number)'],
    ['a string status', () => a.record('200' as unknown as number, 0.1), '`"200"` (string)'],
    [
      'a negative duration',
      () => a.record(200, -1),
      'Expected `durationSeconds` to be a finite number from 0 up, got `-1` (number)',
    ],
    ['a NaN duration', () => a.record(200, NaN), '`NaN` (number)'],
    ['an infinite duration', () => a.record(200, Infinity), '`Infinity` (number)'],
    [
      'an empty name',
      () => history.upstream(''),
      'Expected `name` to be a non-empty string, got `""` (string)',
    ],
    ['a name that is no string', () => history.upstream(7 as unknown as string), '`7` (number)'],
    ['a NaN snapshot time', () => history.snapshot(NaN), 'Expected `now` to be a finite number'],
  ])('throws ERR_DASHBOARD_INVALID_ARGUMENT for %s', (_what, call, message) => {
    expect(call).toThrowError(
      expect.objectContaining({ code: 'ERR_DASHBOARD_INVALID_ARGUMENT', name: 'DashboardError' }),
    );
    expect(call).toThrowError(message);
  });

  it.each([
    [
      'a clock that is no function',
      () => new TrafficHistory({ now: 5 as unknown as () => number }),
      'Expected `now` to be a function returning milliseconds, got `5` (number)',
    ],
    [
      'a clock giving NaN',
      () => new TrafficHistory({ now: () => NaN }),
      'Expected `now()` to return a finite number of milliseconds from 0 up, got `NaN` (number)',
    ],
    ['a clock before zero', () => new TrafficHistory({ now: () => -5 }), '`-5` (number)'],
    [
      'options that are no object',
      () => new TrafficHistory(null as unknown as object),
      'Expected `options` to be an object, got `null`',
    ],
  ])('throws ERR_DASHBOARD_INVALID_OPTION for %s', (_what, call, message) => {
    expect(call).toThrowError(expect.objectContaining({ code: 'ERR_DASHBOARD_INVALID_OPTION' }));
    expect(call).toThrowError(message);
  });

  it('leaves the history unchanged after a rejected record', () => {
    expect(() => a.record(200, -1)).toThrow();
    expect(of(history, 'a').requestsLastMinute).toBe(0);
  });
});
