import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutlierSettings } from '../src/options.js';
import { OutlierDetector, type OutlierSubject } from '../src/outlier-detection.js';

interface Subject extends OutlierSubject {
  readonly name: string;
}

const subject = (name: string): Subject => ({
  name,
  consecutiveFailures: 0,
  ejected: false,
  ejectedUntil: null,
  ejections: 0,
  restoredAt: null,
  ejectionTimer: undefined,
});

const SETTINGS: OutlierSettings = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
};

function detector(settings: Partial<OutlierSettings> = {}, population = 4) {
  const log: string[] = [];
  const d = new OutlierDetector<Subject>(
    { ...SETTINGS, ...settings },
    {
      population: () => population,
      ejected: (s, reason, ms) => log.push(`${Date.now()} ejected ${s.name} ${ms} (${reason})`),
      restored: (s) => log.push(`${Date.now()} restored ${s.name}`),
    },
  );
  return { d, log };
}

/** `n` failures in a row; returns how many of them ejected. */
function fail(d: OutlierDetector<Subject>, s: Subject, n: number, reason = 'HTTP 500'): number {
  let ejected = 0;
  for (let i = 0; i < n; i++) if (d.failure(s, reason)) ejected++;
  return ejected;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('OutlierDetector', () => {
  it('ejects at the threshold of failures in a row, and a success starts the count again', () => {
    const { d, log } = detector();
    const a = subject('a');
    expect(fail(d, a, 4)).toBe(0);
    d.success(a);
    expect(a.consecutiveFailures).toBe(0);
    expect(fail(d, a, 4)).toBe(0);
    expect(a.ejected).toBe(false);
    expect(d.failure(a, 'ECONNRESET')).toBe(true);
    expect(a).toMatchObject({ ejected: true, ejectedUntil: 30_000, ejections: 1, consecutiveFailures: 0 });
    expect(log).toEqual(['0 ejected a 30000 (5 failures in a row, the last: ECONNRESET)']);
  });

  it('restores after exactly baseEjectionMs, and failures while ejected do not eject again', () => {
    const { d, log } = detector();
    const a = subject('a');
    fail(d, a, 5);
    expect(fail(d, a, 7)).toBe(0);
    vi.advanceTimersByTime(29_999);
    expect(a.ejected).toBe(true);
    vi.advanceTimersByTime(1);
    expect(a).toMatchObject({
      ejected: false,
      ejectedUntil: null,
      restoredAt: 30_000,
      consecutiveFailures: 0,
    });
    expect(log).toEqual(['0 ejected a 30000 (5 failures in a row, the last: HTTP 500)', '30000 restored a']);
  });

  it('ejects for baseEjectionMs x the ejection count, at most maxEjectionMs', () => {
    const { d } = detector({ baseEjectionMs: 1000, maxEjectionMs: 3500 });
    const a = subject('a');
    const durations: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = Date.now();
      fail(d, a, 5);
      durations.push((a.ejectedUntil as number) - start);
      vi.advanceTimersByTime((a.ejectedUntil as number) - start);
      expect(a.ejected).toBe(false);
    }
    expect(durations).toEqual([1000, 2000, 3000, 3500, 3500]);
    expect(a.ejections).toBe(5);
  });

  it('forgets one ejection for each maxEjectionMs spent back in rotation', () => {
    const { d } = detector({ baseEjectionMs: 1000, maxEjectionMs: 10_000 });
    const a = subject('a');
    for (let i = 0; i < 3; i++) {
      fail(d, a, 5);
      vi.advanceTimersByTime(10_000);
    }
    expect(a.ejections).toBe(3);
    // Restored at 3000 ms after the third ejection began; 19_999 ms later only one step has passed.
    vi.advanceTimersByTime(19_999 - (Date.now() - (a.restoredAt as number)));
    fail(d, a, 5);
    expect(a.ejections).toBe(3); // 3 - 1 forgiven + 1 new
    expect((a.ejectedUntil as number) - Date.now()).toBe(3000);
    vi.advanceTimersByTime(3000);
    vi.advanceTimersByTime(100_000);
    fail(d, a, 5);
    expect(a.ejections).toBe(1);
    expect((a.ejectedUntil as number) - Date.now()).toBe(1000);
  });

  it('never ejects more than maxEjectionPercent of the upstreams, and ejects a waiting one when there is room', () => {
    const { d, log } = detector({ maxEjectionPercent: 50 }, 4);
    const [a, b, c] = [subject('a'), subject('b'), subject('c')];
    expect(d.maxEjected()).toBe(2);
    fail(d, a, 5);
    vi.advanceTimersByTime(10_000);
    fail(d, b, 5);
    expect(fail(d, c, 9)).toBe(0);
    expect(c.ejected).toBe(false);
    expect(c.consecutiveFailures).toBe(9);
    expect(d.ejectedCount).toBe(2);
    vi.advanceTimersByTime(20_000); // a is back
    expect(d.failure(c, 'HTTP 502')).toBe(true);
    expect(log).toEqual([
      '0 ejected a 30000 (5 failures in a row, the last: HTTP 500)',
      '10000 ejected b 30000 (5 failures in a row, the last: HTTP 500)',
      '30000 restored a',
      '30000 ejected c 30000 (10 failures in a row, the last: HTTP 502)',
    ]);
  });

  it.each([
    [3, 10, 1],
    [3, 0, 1],
    [1, 50, 1],
    [10, 50, 5],
    [10, 34, 3],
    [3, 100, 3],
    [0, 50, 1],
  ])('with %i upstreams and %i%% allows %i ejected at once', (population, percent, allowed) => {
    const { d } = detector({ maxEjectionPercent: percent }, population);
    expect(d.maxEjected()).toBe(allowed);
    const subjects = Array.from({ length: Math.max(population, 1) + 1 }, (_, i) => subject(`s${i}`));
    for (const s of subjects) fail(d, s, 5);
    expect(subjects.filter((s) => s.ejected)).toHaveLength(allowed);
  });

  it('forget() and stop() clear the ejection timers', () => {
    const { d, log } = detector();
    const [a, b] = [subject('a'), subject('b')];
    fail(d, a, 5);
    fail(d, b, 5);
    d.forget(a);
    expect(d.ejectedCount).toBe(1);
    d.stop();
    expect(d.ejectedCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000_000);
    expect(log.filter((l) => l.includes('restored'))).toEqual([]);
  });
});
