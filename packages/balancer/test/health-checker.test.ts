import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Balancer,
  HealthChecker,
  type DownEvent,
  type HealthCheckerOptions,
  type ProbeEvent,
  type ProbeResult,
  type Target,
  type UpEvent,
} from '../src/index.js';

interface Node extends Target {
  readonly host: string;
}

const t = (key: string): Node => ({ key, host: `${key}.internal` });
const OK: ProbeResult = { ok: true };
const http = (status: number): ProbeResult => ({ ok: false, result: 'bad_status', error: `HTTP ${status}` });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Records what a checker emits, in order. */
function record(checker: HealthChecker<Node>): string[] {
  const log: string[] = [];
  checker.on('probe', (e: ProbeEvent<Node>) =>
    log.push(`${Date.now()} probe ${e.key} ${e.result}${e.error === undefined ? '' : ` ${e.error}`}`),
  );
  checker.on('down', (e: DownEvent<Node>) => log.push(`${Date.now()} down ${e.key} ${e.result} ${e.reason}`));
  checker.on('up', (e: UpEvent<Node>) => log.push(`${Date.now()} up ${e.key}`));
  return log;
}

/** Tracks probe starts and how many probes of each key run at once. */
function tracker() {
  const starts: string[] = [];
  const running = new Map<string, number>();
  let maxOverlap = 0;
  const wrap =
    (inner: (target: Node, signal: AbortSignal) => Promise<ProbeResult> | ProbeResult) =>
    async (target: Node, signal: AbortSignal): Promise<ProbeResult> => {
      starts.push(`${Date.now()} ${target.key}`);
      const now = (running.get(target.key) ?? 0) + 1;
      running.set(target.key, now);
      maxOverlap = Math.max(maxOverlap, now);
      try {
        return await inner(target, signal);
      } finally {
        running.set(target.key, (running.get(target.key) ?? 1) - 1);
      }
    };
  return { starts, wrap, maxOverlap: () => maxOverlap };
}

/** A probe that answers only when aborted (it honours the signal), after `cleanupMs`. */
const hangUntilAborted =
  (cleanupMs = 0) =>
  (_target: Node, signal: AbortSignal): Promise<ProbeResult> =>
    new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        setTimeout(() => resolve({ ok: false, result: 'error', error: 'aborted' }), cleanupMs);
      });
    });

let checkers: HealthChecker<Node>[] = [];
function make(
  options: Partial<HealthCheckerOptions<Node>> & Pick<HealthCheckerOptions<Node>, 'balancer' | 'probe'>,
) {
  const checker = new HealthChecker<Node>({ intervalMs: 100, timeoutMs: 50, jitterMs: 0, ...options });
  checkers.push(checker);
  return checker;
}

beforeEach(() => {
  // performance.now() is listed explicitly: the checker measures durations and intervals with it.
  vi.useFakeTimers({
    now: 0,
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'Date',
      'performance',
    ],
  });
});

afterEach(async () => {
  // Probes that ignore their signal settle on fake time: keep the clock moving while stopping.
  const stopped = Promise.all(checkers.map((c) => c.stop()));
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(60_000);
  await stopped;
  checkers = [];
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('HealthChecker: schedule', () => {
  it('probes every target every intervalMs', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const { starts, wrap } = tracker();
    const checker = make({ balancer, probe: wrap(() => OK) });
    checker.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(starts).toEqual(['0 a', '0 b', '100 a', '100 b', '200 a', '200 b', '300 a', '300 b']);
    expect(balancer.status().map((s) => s.lastProbeAt)).toEqual([300, 300]);
  });

  it('start() is idempotent, and the checker can be started again after stop()', async () => {
    const balancer = new Balancer([t('a')]);
    const { starts, wrap } = tracker();
    const checker = make({ balancer, probe: wrap(() => OK) });
    checker.start();
    checker.start();
    expect(checker.running).toBe(true);
    await vi.advanceTimersByTimeAsync(150);
    await checker.stop();
    expect(checker.running).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    checker.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual(['0 a', '100 a', '1150 a']);
  });

  it('never overlaps probes of one target when a probe is slower than the interval', async () => {
    const balancer = new Balancer([t('a')]);
    const { starts, wrap, maxOverlap } = tracker();
    const checker = make({ balancer, probe: wrap(() => sleep(250).then(() => OK)), timeoutMs: 1000 });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(maxOverlap()).toBe(1);
    // Each probe starts as soon as the previous one settled (Node's shortest timer delay is 1 ms).
    expect(starts).toEqual(['0 a', '251 a', '502 a', '753 a']);
    expect(log.filter((l) => l.includes('down'))).toEqual([]);
  });

  it('never overlaps probes of one target when a probe ignores the abort signal', async () => {
    const balancer = new Balancer([t('a')]);
    const { starts, wrap, maxOverlap } = tracker();
    const checker = make({ balancer, probe: wrap(() => sleep(250).then(() => OK)) });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(600);
    expect(maxOverlap()).toBe(1);
    expect(starts).toEqual(['0 a', '251 a', '502 a']);
    // The timeout counted at 50 ms; the late success was not taken into account.
    expect(log.slice(0, 2)).toEqual([
      '50 probe a timeout timeout after 50 ms',
      '50 down a timeout timeout after 50 ms',
    ]);
    expect(balancer.isHealthy('a')).toBe(false);
  });

  it('spreads first probes over [0, jitterMs)', async () => {
    const targets = Array.from({ length: 100 }, (_, i) => t(`n${i}`));
    const balancer = new Balancer(targets);
    const { starts, wrap } = tracker();
    const checker = make({
      balancer,
      probe: wrap(() => OK),
      intervalMs: 5000,
      timeoutMs: 1000,
      jitterMs: 1000,
    });
    checker.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toHaveLength(100);
    const times = starts.map((s) => Number(s.split(' ')[0]));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...times)).toBeLessThan(1000);
    expect(new Set(times).size).toBeGreaterThan(50);
    // The spread is kept: each target's next probe is one interval after its first.
    const first = new Map(starts.map((s) => [s.split(' ')[1], Number(s.split(' ')[0])]));
    await vi.advanceTimersByTimeAsync(5000);
    expect(starts).toHaveLength(200);
    for (const s of starts.slice(100)) {
      const [at, key] = s.split(' ');
      expect(Number(at)).toBe((first.get(key) as number) + 5000);
    }
  });

  it.each([
    [0, 0],
    [0.5, 50],
    [0.999999, 99],
  ])('with Math.random() = %d the first probe starts at %d ms', async (random, at) => {
    vi.spyOn(Math, 'random').mockReturnValue(random);
    const balancer = new Balancer([t('a')]);
    const { starts, wrap } = tracker();
    make({ balancer, probe: wrap(() => OK), jitterMs: 100 }).start();
    if (at > 0) {
      await vi.advanceTimersByTimeAsync(at - 1);
      expect(starts).toEqual([]);
    }
    await vi.advanceTimersByTimeAsync(at === 0 ? 0 : 1);
    expect(starts).toEqual([`${at} a`]);
  });

  it('jitter defaults to intervalMs', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    const balancer = new Balancer([t('a')]);
    const { starts, wrap } = tracker();
    make({ balancer, probe: wrap(() => OK), jitterMs: undefined, intervalMs: 300 }).start();
    await vi.advanceTimersByTimeAsync(298);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual(['299 a']);
  });
});

describe('HealthChecker: state machine', () => {
  it('by default one failure removes a target and one success restores it', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    let answer: ProbeResult = OK;
    const checker = make({ balancer, probe: (target) => (target.key === 'a' ? answer : OK) });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(0);
    answer = http(500);
    await vi.advanceTimersByTimeAsync(100);
    expect(balancer.isHealthy('a')).toBe(false);
    expect(Array.from({ length: 4 }, () => balancer.pick()?.key)).toEqual(['b', 'b', 'b', 'b']);
    answer = OK;
    await vi.advanceTimersByTimeAsync(100);
    expect(balancer.isHealthy('a')).toBe(true);
    expect(log.filter((l) => l.includes(' a'))).toEqual([
      '0 probe a ok',
      '100 probe a bad_status HTTP 500',
      '100 down a bad_status HTTP 500',
      '200 probe a ok',
      '200 up a',
    ]);
  });

  it('honours fall and rise thresholds', async () => {
    const balancer = new Balancer([t('a')]);
    const script = 'FFSFFFFFSFSSS';
    let n = 0;
    const probe = () => (script[n++] === 'S' ? OK : http(503));
    const checker = make({ balancer, probe, fall: 3, rise: 2 });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(100 * (script.length - 1));
    expect(n).toBe(script.length);
    expect(log.filter((l) => !l.includes('probe'))).toEqual([
      // F F S F F F: the third failure in a row
      '500 down a bad_status HTTP 503',
      // F F S F S S: the second success in a row
      '1100 up a',
    ]);
    expect(balancer.status()[0]).toMatchObject({
      healthy: true,
      consecutiveSuccesses: 3,
      consecutiveFailures: 0,
    });
  });

  it('counts a probe that exceeds timeoutMs as a timeout failure and aborts its signal', async () => {
    const balancer = new Balancer([t('a')]);
    const signals: AbortSignal[] = [];
    const checker = make({
      balancer,
      probe: (target, signal) => {
        signals.push(signal);
        return hangUntilAborted()(target, signal);
      },
    });
    const events: ProbeEvent<Node>[] = [];
    checker.on('probe', (e) => events.push(e));
    const downs: DownEvent<Node>[] = [];
    checker.on('down', (e) => downs.push(e));
    checker.start();
    await vi.advanceTimersByTimeAsync(49);
    expect(balancer.isHealthy('a')).toBe(true);
    expect(signals[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(balancer.isHealthy('a')).toBe(false);
    expect(signals[0]?.aborted).toBe(true);
    expect((signals[0]?.reason as Error).name).toBe('TimeoutError');
    expect(events).toEqual([
      {
        key: 'a',
        target: balancer.get('a'),
        result: 'timeout',
        error: 'timeout after 50 ms',
        durationMs: 50,
        at: 0,
      },
    ]);
    expect(downs).toEqual([
      { key: 'a', target: balancer.get('a'), result: 'timeout', reason: 'timeout after 50 ms' },
    ]);
    expect(balancer.status()[0]).toMatchObject({ lastError: 'timeout after 50 ms', consecutiveFailures: 1 });
  });

  it('reports probe durations', async () => {
    const balancer = new Balancer([t('a')]);
    const checker = make({ balancer, probe: () => sleep(30).then(() => OK) });
    const events: ProbeEvent<Node>[] = [];
    checker.on('probe', (e) => events.push(e));
    checker.start();
    await vi.advanceTimersByTimeAsync(30);
    expect(events).toEqual([
      { key: 'a', target: balancer.get('a'), result: 'ok', error: undefined, durationMs: 30, at: 0 },
    ]);
  });

  it.each([
    [
      'throws synchronously',
      () => {
        throw new Error('kaput');
      },
      'error',
      'kaput',
    ],
    [
      'rejects with a coded error',
      () => Promise.reject(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })),
      'error',
      'ECONNREFUSED',
    ],
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a probe may reject with anything
    ['rejects with a string', () => Promise.reject('nope'), 'error', 'nope'],
    ['resolves garbage', () => 42 as unknown as ProbeResult, 'error', 'invalid probe result `42` (number)'],
    [
      'resolves an unknown failure kind',
      () => ({ ok: false, result: 'weird', error: 'E' }) as unknown as ProbeResult,
      'error',
      'E',
    ],
    [
      'resolves a failure without error text',
      () => ({ ok: false, result: 'timeout' }) as unknown as ProbeResult,
      'timeout',
      'probe failed',
    ],
  ])('counts a probe that %s as a failure', async (_name, probe, result, error) => {
    const balancer = new Balancer([t('a')]);
    const checker = make({ balancer, probe });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual([`0 probe a ${result} ${error}`, `0 down a ${result} ${error}`]);
  });

  it('brings back a target marked down by the application at its next good probe', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const checker = make({ balancer, probe: () => OK, fall: 2, rise: 1 });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(balancer.markDown('a', 'ECONNREFUSED')).toBe(true);
    expect(balancer.pick()?.key).toBe('b');
    expect(balancer.pick()?.key).toBe('b');
    await vi.advanceTimersByTimeAsync(90);
    expect(balancer.isHealthy('a')).toBe(true);
    expect(log.filter((l) => !l.includes('probe'))).toEqual(['100 up a']);
  });

  it('starts targets down with initialHealth: down and puts them in rotation at the first good probe', async () => {
    const balancer = new Balancer([t('a')], { initialHealth: 'down' });
    const checker = make({ balancer, probe: () => OK });
    checker.start();
    expect(balancer.pick()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0);
    expect(balancer.pick()?.key).toBe('a');
  });

  it('keeps working when an event listener throws', async () => {
    const thrown: unknown[] = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    });
    const balancer = new Balancer([t('a')]);
    const checker = make({ balancer, probe: () => http(500) });
    checker.on('probe', () => {
      throw new Error('listener bug');
    });
    checker.start();
    await vi.advanceTimersByTimeAsync(250);
    expect(balancer.isHealthy('a')).toBe(false);
    expect(thrown).toHaveLength(3);
    expect(balancer.status()[0]?.consecutiveFailures).toBe(3);
  });
});

describe('HealthChecker: stop', () => {
  it('aborts the probes in flight, waits for them, and leaves no timer behind', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const signals: AbortSignal[] = [];
    const checker = make({
      balancer,
      timeoutMs: 500,
      probe: (target, signal) => {
        signals.push(signal);
        return hangUntilAborted(30)(target, signal);
      },
    });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = checker.stop().then(() => (stopped = true));
    expect(signals.map((s) => (s.reason as Error).name)).toEqual(['AbortError', 'AbortError']);
    await vi.advanceTimersByTimeAsync(29);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(stopped).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    // The aborted probes' outcomes were dropped.
    expect(log).toEqual([]);
    expect(balancer.healthyCount).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(signals).toHaveLength(2);
  });

  it('clears pending probe timers when nothing is in flight', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const checker = make({ balancer, probe: () => OK, jitterMs: 1000 });
    checker.start();
    expect(vi.getTimerCount()).toBe(2);
    await checker.stop();
    await checker.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves at once when never started', async () => {
    const checker = make({ balancer: new Balancer([t('a')]), probe: () => OK });
    await checker.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not change health when a probe listener stops the checker', async () => {
    const balancer = new Balancer([t('a')]);
    const checker = make({ balancer, probe: () => http(500) });
    checker.on('probe', () => void checker.stop());
    checker.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(balancer.isHealthy('a')).toBe(true);
  });
});

describe('HealthChecker: following setTargets', () => {
  it('probes added targets and ignores the results of removed ones, even in flight', async () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const signals = new Map<string, AbortSignal>();
    const { starts, wrap } = tracker();
    // Every probe takes 80 ms, ignores its signal, and fails.
    const checker = make({
      balancer,
      timeoutMs: 1000,
      intervalMs: 200,
      probe: wrap((target, signal) => {
        signals.set(target.key, signal);
        return sleep(80).then(() => http(500));
      }),
    });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(10);
    balancer.setTargets([t('a'), t('c')]);
    expect(signals.get('b')?.aborted).toBe(true);
    expect(signals.get('a')?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(starts).toEqual(['0 a', '0 b', '10 c']);
    expect(log).toEqual([
      '80 probe a bad_status HTTP 500',
      '80 down a bad_status HTTP 500',
      '90 probe c bad_status HTTP 500',
      '90 down c bad_status HTTP 500',
    ]);
    expect(balancer.status().map((s) => s.key)).toEqual(['a', 'c']);
  });

  it('does not overlap the probe of a key removed and added back while its probe is in flight', async () => {
    const balancer = new Balancer([t('a')]);
    const { starts, wrap, maxOverlap } = tracker();
    const checker = make({ balancer, timeoutMs: 1000, probe: wrap(() => sleep(80).then(() => OK)) });
    checker.start();
    await vi.advanceTimersByTimeAsync(10);
    balancer.setTargets([]);
    await vi.advanceTimersByTimeAsync(10);
    balancer.setTargets([t('a')]);
    await vi.advanceTimersByTimeAsync(100);
    expect(maxOverlap()).toBe(1);
    expect(starts).toEqual(['0 a', '80 a']);
  });

  it('keeps the probe in flight of a target that stays, and probes its new object next', async () => {
    const balancer = new Balancer([t('a')]);
    const hosts: string[] = [];
    const checker = make({
      balancer,
      timeoutMs: 1000,
      probe: (target) => {
        hosts.push(target.host);
        return sleep(50).then(() => http(502));
      },
    });
    const log = record(checker);
    checker.start();
    await vi.advanceTimersByTimeAsync(10);
    balancer.setTargets([{ key: 'a', host: 'moved.internal' }]);
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toContain('50 down a bad_status HTTP 502');
    expect(hosts).toEqual(['a.internal', 'moved.internal']);
  });

  it('stops following the balancer after stop()', async () => {
    const balancer = new Balancer([t('a')]);
    const { starts, wrap } = tracker();
    const checker = make({ balancer, probe: wrap(() => OK) });
    checker.start();
    await checker.stop();
    balancer.setTargets([t('b')]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(starts).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('HealthChecker: timers and options', () => {
  it('unref()s its timers by default, and keeps them ref()ed with unref: false', async () => {
    vi.useRealTimers();
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const balancer = new Balancer([t('a'), t('b')]);
    const before = timers();
    const quiet = make({ balancer, probe: () => OK, jitterMs: 60_000, intervalMs: 60_000 });
    quiet.start();
    expect(timers()).toBe(before);
    await quiet.stop();
    const loud = make({ balancer, probe: () => OK, jitterMs: 60_000, intervalMs: 60_000, unref: false });
    loud.start();
    expect(timers()).toBe(before + 2);
    await loud.stop();
    expect(timers()).toBe(before);
  });

  const balancer = new Balancer([t('a')]);
  const probe = (): ProbeResult => OK;
  it.each([
    ['missing options', undefined, 'options'],
    ['a missing balancer', { probe }, 'balancer'],
    ['a balancer that is not one', { balancer: {}, probe }, 'balancer'],
    ['a missing probe', { balancer }, 'probe'],
    [
      'intervalMs 0',
      { balancer, probe, intervalMs: 0 },
      'intervalMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    ],
    ['intervalMs NaN', { balancer, probe, intervalMs: NaN }, '`NaN` (number)'],
    [
      'intervalMs as a string',
      { balancer, probe, intervalMs: '100' },
      'intervalMs` to be a number of milliseconds from 1 to 2147483647, got `"100"` (string)',
    ],
    ['intervalMs too large', { balancer, probe, intervalMs: 2 ** 31 }, 'intervalMs'],
    ['timeoutMs -1', { balancer, probe, timeoutMs: -1 }, 'timeoutMs'],
    ['fall 0', { balancer, probe, fall: 0 }, '`fall` to be an integer from 1 and up, got `0` (number)'],
    ['rise 1.5', { balancer, probe, rise: 1.5 }, '`rise` to be an integer from 1 and up, got `1.5` (number)'],
    ['jitterMs -1', { balancer, probe, jitterMs: -1 }, '`jitterMs` to be a number of milliseconds from 0'],
    ['unref "yes"', { balancer, probe, unref: 'yes' }, '`unref` to be a boolean'],
  ])('throws ERR_BALANCER_INVALID_OPTION for %s', (_name, options, message) => {
    expect(() => new HealthChecker(options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_BALANCER_INVALID_OPTION',
        message: expect.stringContaining(message),
      }),
    );
  });
});
