// The counts behind the dashboard's traffic, added up across processes (the workers of a cluster): the
// merge of several histories is what one history that saw every request shows, whatever each process'
// clock origin.
import { describe, expect, it } from 'vitest';
import { COUNT_SECONDS, mergeCounts, summarize } from '../../src/dashboard/traffic-counts.js';
import { TrafficHistory } from '../../src/dashboard/traffic-history.js';

/** A history on its own clock: `origin` ms at the test's time 0 (performance.now() differs per process). */
function worker(origin: number) {
  const clock = { t: 0 };
  const history = new TrafficHistory({ now: () => origin + clock.t });
  return { clock, history };
}

describe('mergeCounts and summarize', () => {
  it('equal, for the merge of two processes, the summary of one that saw every request', () => {
    const one = worker(10_000);
    const two = worker(987_000);
    const all = worker(0);
    // 200 seconds of traffic, split between two processes by a fixed rule.
    for (let s = 0; s < 200; s++) {
      for (const w of [one, two, all]) w.clock.t = s * 1000;
      for (let k = 0; k < (s % 7) + 1; k++) {
        const status = (s + k) % 11 === 0 ? 502 : 200;
        const seconds = 0.001 * (1 + ((s * 7 + k * 13) % 40));
        (k % 2 === 0 ? one : two).history.upstream('u').record(status, seconds);
        all.history.upstream('u').record(status, seconds);
      }
    }
    for (const w of [one, two, all]) w.clock.t = 200_500;
    const merged = summarize(mergeCounts([one.history.counts().get('u')!, two.history.counts().get('u')!]));
    expect(merged).toEqual(all.history.snapshot().get('u'));
    expect(merged.requestsLastMinute).toBeGreaterThan(0);
    expect(merged.errorsLastMinute).toBeGreaterThan(0);
  });

  it('align counts on seconds ago, the current second first', () => {
    const w = worker(5_500);
    w.history.upstream('u').record(200, 0.01);
    w.clock.t = 3000;
    w.history.upstream('u').record(500, 0.01);
    w.history.upstream('u').record(200, 0.01);
    const counts = w.history.counts().get('u')!;
    expect(counts.requests).toHaveLength(COUNT_SECONDS);
    expect(counts.requests.slice(0, 5)).toEqual([2, 0, 0, 1, 0]);
    expect(counts.errors.slice(0, 5)).toEqual([1, 0, 0, 0, 0]);
    expect(counts.latency.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('summarize nothing as no traffic', () => {
    expect(summarize(mergeCounts([]))).toMatchObject({
      requestsPerSecond: 0,
      requestsLastMinute: 0,
      errorShare: null,
      p50Ms: null,
      p99Ms: null,
    });
  });
});
