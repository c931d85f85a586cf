import { WeightedRoundRobin } from '@roundguard/roundrobin';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Balancer, type Target } from '../src/index.js';

interface Upstream extends Target {
  readonly url: string;
}

const t = (key: string, weight?: number): Upstream =>
  weight === undefined ? { key, url: `http://${key}` } : { key, url: `http://${key}`, weight };

function picks<T extends Target>(balancer: Balancer<T>, n: number): (string | undefined)[] {
  return Array.from({ length: n }, () => balancer.pick()?.key);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Balancer: rotation', () => {
  it('hands out the targets in round-robin order', () => {
    const balancer = new Balancer([t('a'), t('b'), t('c')]);
    expect(picks(balancer, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('returns the very objects given', () => {
    const a = t('a');
    const balancer = new Balancer([a]);
    expect(balancer.pick()).toBe(a);
  });

  it('returns undefined when there are no targets', () => {
    const balancer = new Balancer<Upstream>([]);
    expect(balancer.pick()).toBeUndefined();
    expect(new Balancer().pick()).toBeUndefined();
  });

  it('returns undefined when every target is down', () => {
    const balancer = new Balancer([t('a'), t('b')]);
    balancer.markDown('a', 'x');
    balancer.markDown('b', 'x');
    expect(balancer.pick()).toBeUndefined();
    expect(balancer.healthyCount).toBe(0);
  });

  it('skips a target that went down and keeps the others in turn', () => {
    const balancer = new Balancer([t('a'), t('b'), t('c'), t('d')]);
    expect(picks(balancer, 1)).toEqual(['a']);
    expect(balancer.markDown('b', 'ECONNREFUSED')).toBe(true);
    expect(picks(balancer, 4)).toEqual(['c', 'd', 'a', 'c']);
    expect(balancer.markDown('d', 'HTTP 500')).toBe(true);
    expect(picks(balancer, 3)).toEqual(['a', 'c', 'a']);
    // b comes back: the target that was due next (c) keeps its turn, b joins in order.
    expect(balancer.markUp('b')).toBe(true);
    expect(picks(balancer, 4)).toEqual(['c', 'a', 'b', 'c']);
    expect(balancer.markUp('d')).toBe(true);
    expect(picks(balancer, 5)).toEqual(['a', 'b', 'c', 'd', 'a']);
  });

  it('after all went down, the first target to come back is picked', () => {
    const balancer = new Balancer([t('a'), t('b'), t('c')]);
    picks(balancer, 2);
    for (const k of ['a', 'b', 'c']) balancer.markDown(k, 'x');
    expect(balancer.pick()).toBeUndefined();
    balancer.markUp('c');
    expect(picks(balancer, 2)).toEqual(['c', 'c']);
    balancer.markUp('a');
    expect(picks(balancer, 4)).toEqual(['c', 'a', 'c', 'a']);
  });

  it('never hands out a target known to be down, and cycles the healthy subset exactly (property)', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const op = fc.oneof(
      fc.constant({ kind: 'pick' as const, i: 0 }),
      fc.record({ kind: fc.constant('down' as const), i: fc.nat(keys.length - 1) }),
      fc.record({ kind: fc.constant('up' as const), i: fc.nat(keys.length - 1) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: keys.length }), fc.array(op, { maxLength: 200 }), (n, ops) => {
        const all = keys.slice(0, n);
        const balancer = new Balancer(all.map((k) => t(k)));
        const healthy = new Set(all);
        // The model: `due` is the target the rotation hands out next. After a pick it is the next healthy
        // target in order; after a change it stays when still healthy, else moves to the first target
        // after it (in order) that was and still is healthy.
        const after = (k: string, inSet: (x: string) => boolean): string | undefined => {
          const start = all.indexOf(k);
          for (let s = 1; s <= n; s++) {
            const candidate = all[(start + s) % n] as string;
            if (inSet(candidate)) return candidate;
          }
          return undefined;
        };
        let due: string | undefined = all[0];
        for (const { kind, i } of ops) {
          if (kind === 'pick') {
            const got = balancer.pick()?.key;
            if (healthy.size === 0) {
              expect(got).toBeUndefined();
              continue;
            }
            expect(got).toBeDefined();
            expect(healthy.has(got as string)).toBe(true);
            if (due !== undefined) expect(got).toBe(due);
            due = after(got as string, (x) => healthy.has(x));
            continue;
          }
          const key = all[i % n] as string;
          const before = new Set(healthy);
          const changed = kind === 'down' ? balancer.markDown(key, 'x') : balancer.markUp(key);
          expect(changed).toBe(kind === 'down' ? before.has(key) : !before.has(key));
          if (kind === 'down') healthy.delete(key);
          else healthy.add(key);
          expect(balancer.healthyCount).toBe(healthy.size);
          if (!changed) continue;
          const kept = (x: string): boolean => before.has(x) && healthy.has(x);
          if (due === undefined || [...before].every((x) => !healthy.has(x))) due = undefined;
          else if (!healthy.has(due)) due = after(due, kept);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('uses smooth weighted order when weights differ', () => {
    const balancer = new Balancer([t('a', 5), t('b', 1), t('c', 1)]);
    expect(picks(balancer, 14).join('')).toBe('aabacaaaabacaa');
  });

  it('uses plain round robin when all weights are equal', () => {
    const balancer = new Balancer([t('a', 3), t('b', 3), t('c', 3)]);
    expect(picks(balancer, 4)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('never picks a target of weight 0', () => {
    const balancer = new Balancer([t('a', 0), t('b'), t('c')]);
    expect(picks(balancer, 4)).toEqual(['b', 'c', 'b', 'c']);
    expect(balancer.healthyCount).toBe(2);
    expect(balancer.isHealthy('a')).toBe(true);
  });

  it('follows the smooth weighted order of the healthy subset across transitions', () => {
    const targets = [t('a', 5), t('b', 1), t('c', 1), t('d', 3)];
    const balancer = new Balancer(targets);
    picks(balancer, 5);
    balancer.markDown('a', 'x');
    const seen = picks(balancer, 50);
    expect(seen).not.toContain('a');
    // A full cycle of the subset {b:1, c:1, d:3} gives the exact shares.
    const cycle = picks(balancer, 5 * 10);
    expect(cycle.filter((k) => k === 'd')).toHaveLength(30);
    expect(cycle.filter((k) => k === 'b')).toHaveLength(10);
    expect(cycle.filter((k) => k === 'c')).toHaveLength(10);
    // Fresh rotations agree with WeightedRoundRobin over the same subset.
    const fresh = new Balancer([t('b', 1), t('c', 1), t('d', 3)]);
    const reference = new WeightedRoundRobin([
      { item: 'b', weight: 1 },
      { item: 'c', weight: 1 },
      { item: 'd', weight: 3 },
    ]);
    expect(picks(fresh, 10)).toEqual(Array.from({ length: 10 }, () => reference.next()));
    balancer.markUp('a');
    const back = picks(balancer, 10 * 10);
    expect(back.filter((k) => k === 'a')).toHaveLength(50);
    expect(back.filter((k) => k === 'd')).toHaveLength(30);
  });
});

describe('Balancer: health', () => {
  it('markDown and markUp return whether the state changed', () => {
    const balancer = new Balancer([t('a')]);
    expect(balancer.markUp('a')).toBe(false);
    expect(balancer.markDown('a', 'x')).toBe(true);
    expect(balancer.markDown('a', 'y')).toBe(false);
    expect(balancer.markUp('a')).toBe(true);
    expect(balancer.markUp('a')).toBe(false);
  });

  it('ignores unknown keys', () => {
    const balancer = new Balancer([t('a')]);
    expect(balancer.markDown('zz', 'x')).toBe(false);
    expect(balancer.markUp('zz')).toBe(false);
    expect(balancer.isHealthy('zz')).toBe(false);
    expect(balancer.recordProbe('zz', { ok: true })).toBeUndefined();
  });

  it('starts targets down with initialHealth: down', () => {
    const balancer = new Balancer([t('a'), t('b')], { initialHealth: 'down' });
    expect(balancer.pick()).toBeUndefined();
    expect(balancer.healthyCount).toBe(0);
    balancer.markUp('b');
    expect(picks(balancer, 2)).toEqual(['b', 'b']);
  });

  it('tells onChange listeners about every change, after the rotation was rebuilt', () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const seen: unknown[] = [];
    const off = balancer.onChange((key, healthy, reason, target) => {
      seen.push([key, healthy, reason, target.url, balancer.healthyCount, balancer.pick()?.key]);
    });
    balancer.markDown('a', 'ECONNREFUSED');
    balancer.markDown('a', 'again');
    balancer.markUp('a');
    off();
    off();
    balancer.markDown('b', 'x');
    expect(seen).toEqual([
      ['a', false, 'ECONNREFUSED', 'http://a', 1, 'b'],
      // The listener's own pick above took b's turn; b was due again when a came back.
      ['a', true, undefined, 'http://a', 2, 'b'],
    ]);
  });

  it('a listener that throws does not stop the change or the other listeners', async () => {
    const balancer = new Balancer([t('a')]);
    const thrown: unknown[] = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    });
    const second = vi.fn();
    balancer.onChange(() => {
      throw new Error('boom');
    });
    balancer.onChange(second);
    expect(balancer.markDown('a', 'x')).toBe(true);
    expect(second).toHaveBeenCalledOnce();
    expect(balancer.isHealthy('a')).toBe(false);
    expect(thrown).toEqual([new Error('boom')]);
    await Promise.resolve();
  });

  it('rejects a listener that is not a function', () => {
    const balancer = new Balancer([t('a')]);
    expect(() => balancer.onChange(42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_BALANCER_INVALID_OPTION' }),
    );
  });
});

describe('Balancer: setTargets', () => {
  it('keeps the health of targets that stay and starts new ones up', () => {
    const balancer = new Balancer([t('a'), t('b'), t('c')]);
    balancer.markDown('b', 'x');
    balancer.markDown('c', 'x');
    balancer.setTargets([t('b'), t('c'), t('d')]);
    expect(balancer.isHealthy('b')).toBe(false);
    expect(balancer.isHealthy('c')).toBe(false);
    expect(balancer.isHealthy('d')).toBe(true);
    expect(balancer.has('a')).toBe(false);
    expect(picks(balancer, 2)).toEqual(['d', 'd']);
    expect(balancer.targets().map((x) => x.key)).toEqual(['b', 'c', 'd']);
    expect(balancer.size).toBe(3);
  });

  it('starts new targets down with initialHealth: down', () => {
    const balancer = new Balancer([t('a')], { initialHealth: 'down' });
    balancer.markUp('a');
    balancer.setTargets([t('a'), t('b')]);
    expect(balancer.isHealthy('a')).toBe(true);
    expect(balancer.isHealthy('b')).toBe(false);
  });

  it('uses the new objects and weights of targets that stay', () => {
    const balancer = new Balancer([t('a'), t('b')]);
    const a2 = { key: 'a', url: 'http://a2', weight: 3 };
    balancer.setTargets([a2, t('b')]);
    expect(balancer.get('a')).toBe(a2);
    const seen = picks(balancer, 8);
    expect(seen.filter((k) => k === 'a')).toHaveLength(6);
    expect(balancer.status().find((s) => s.key === 'a')?.weight).toBe(3);
  });

  it('switches back to plain round robin when weights become equal', () => {
    const balancer = new Balancer([t('a', 2), t('b')]);
    balancer.setTargets([t('a'), t('b'), t('c')]);
    expect(picks(balancer, 6).sort().join('')).toBe('aabbcc');
  });

  it('tells onTargetsChange listeners the new set', () => {
    const balancer = new Balancer([t('a')]);
    const seen: string[][] = [];
    balancer.onTargetsChange((targets) => seen.push(targets.map((x) => x.key)));
    balancer.setTargets([t('b'), t('c')]);
    expect(seen).toEqual([['b', 'c']]);
  });

  it('changes nothing when the new set is invalid', () => {
    const balancer = new Balancer([t('a'), t('b')]);
    balancer.markDown('a', 'x');
    expect(() => balancer.setTargets([t('c'), t('c')])).toThrow(
      expect.objectContaining({ code: 'ERR_BALANCER_DUPLICATE_KEY' }),
    );
    expect(balancer.targets().map((x) => x.key)).toEqual(['a', 'b']);
    expect(balancer.isHealthy('a')).toBe(false);
  });

  it('forgets a removed target: adding it back starts fresh', () => {
    const balancer = new Balancer([t('a'), t('b')]);
    balancer.markDown('a', 'x');
    balancer.setTargets([t('b')]);
    balancer.setTargets([t('a'), t('b')]);
    expect(balancer.isHealthy('a')).toBe(true);
  });
});

describe('Balancer: status', () => {
  it('reports each target', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const balancer = new Balancer([t('a', 2), t('b')]);
    vi.setSystemTime(1_000_500);
    balancer.markDown('b', 'ECONNREFUSED');
    expect(balancer.status()).toEqual([
      {
        key: 'a',
        healthy: true,
        since: 1_000_000,
        lastProbeAt: null,
        lastError: null,
        consecutiveFailures: 0,
        consecutiveSuccesses: 0,
        weight: 2,
      },
      {
        key: 'b',
        healthy: false,
        since: 1_000_500,
        lastProbeAt: null,
        lastError: 'ECONNREFUSED',
        consecutiveFailures: 0,
        consecutiveSuccesses: 0,
        weight: 1,
      },
    ]);
    expect(JSON.parse(JSON.stringify(balancer.status()))).toEqual(balancer.status());
  });

  it('recordProbe updates the counters and last error, not the health', () => {
    const balancer = new Balancer([t('a')]);
    balancer.recordProbe('a', { ok: false, result: 'bad_status', error: 'HTTP 500' }, 10);
    const status = balancer.recordProbe(
      'a',
      { ok: false, result: 'timeout', error: 'timeout after 5 ms' },
      20,
    );
    expect(status).toMatchObject({
      healthy: true,
      lastProbeAt: 20,
      lastError: 'timeout after 5 ms',
      consecutiveFailures: 2,
      consecutiveSuccesses: 0,
    });
    balancer.markDown('a', 'timeout');
    expect(balancer.recordProbe('a', { ok: true }, 30)).toMatchObject({
      healthy: false,
      lastError: null,
      consecutiveFailures: 0,
      consecutiveSuccesses: 1,
    });
    balancer.markUp('a');
    expect(balancer.status()[0]).toMatchObject({ healthy: true, consecutiveSuccesses: 1 });
  });

  it('going down resets the successes, coming up resets the failures', () => {
    const balancer = new Balancer([t('a')]);
    balancer.recordProbe('a', { ok: true });
    balancer.markDown('a', 'passive');
    expect(balancer.status()[0]?.consecutiveSuccesses).toBe(0);
    balancer.recordProbe('a', { ok: false, result: 'error', error: 'E' });
    balancer.markUp('a');
    expect(balancer.status()[0]?.consecutiveFailures).toBe(0);
  });
});

describe('Balancer: validation', () => {
  it.each([
    ['null targets', null, 'ERR_BALANCER_INVALID_TARGETS', '`null` (null)'],
    ['a number', 42, 'ERR_BALANCER_INVALID_TARGETS', '`42` (number)'],
    ['a string', 'abc', 'ERR_BALANCER_INVALID_TARGETS', '`"abc"` (string)'],
    ['a String object', new String('abc'), 'ERR_BALANCER_INVALID_TARGETS', '`"abc"` (object)'],
    ['a target that is not an object', ['a'], 'ERR_BALANCER_INVALID_TARGET', 'target 0'],
    ['a missing key', [{ weight: 1 }], 'ERR_BALANCER_INVALID_TARGET', '`undefined`'],
    ['an empty key', [{ key: '' }], 'ERR_BALANCER_INVALID_TARGET', '`""` (string)'],
    ['a numeric key', [{ key: 1 }], 'ERR_BALANCER_INVALID_TARGET', '`1` (number)'],
    ['a negative weight', [{ key: 'a', weight: -1 }], 'ERR_BALANCER_INVALID_TARGET', '`-1` (number)'],
    ['a fractional weight', [{ key: 'a', weight: 1.5 }], 'ERR_BALANCER_INVALID_TARGET', '`1.5` (number)'],
    ['a huge weight', [{ key: 'a', weight: 2e6 }], 'ERR_BALANCER_INVALID_TARGET', '`2000000` (number)'],
    ['a string weight', [{ key: 'a', weight: '2' }], 'ERR_BALANCER_INVALID_TARGET', '`"2"` (string)'],
    ['a duplicate key', [{ key: 'a' }, { key: 'a' }], 'ERR_BALANCER_DUPLICATE_KEY', '`"a"` (string) twice'],
  ])('throws for %s', (_name, targets, code, shown) => {
    let error: unknown;
    try {
      new Balancer(targets as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: 'BalancerError', code });
    expect((error as Error).message).toContain(shown);
  });

  it.each([
    ['an unknown initialHealth', { initialHealth: 'sideways' }, '`"sideways"` (string)'],
    ['options that are not an object', 'up', '`"up"` (string)'],
  ])('throws ERR_BALANCER_INVALID_OPTION for %s', (_name, options, shown) => {
    expect(() => new Balancer([], options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_BALANCER_INVALID_OPTION',
        message: expect.stringContaining(shown),
      }),
    );
  });

  it.each([
    ['a string', 'ab'],
    ['a String object', new String('ab')],
    ['a number', 1],
  ])('setTargets refuses %s and keeps the set it had', (_name, targets) => {
    const balancer = new Balancer([t('a')]);
    expect(() => balancer.setTargets(targets as never)).toThrow(
      expect.objectContaining({ name: 'BalancerError', code: 'ERR_BALANCER_INVALID_TARGETS' }),
    );
    expect(balancer.targets().map((x) => x.key)).toEqual(['a']);
  });

  it('accepts any iterable', () => {
    const balancer = new Balancer(new Set([t('a'), t('b')]));
    expect(picks(balancer, 2)).toEqual(['a', 'b']);
  });

  it('copies the targets: later changes to the array have no effect', () => {
    const list = [t('a')];
    const balancer = new Balancer(list);
    list.push(t('b'));
    expect(balancer.targets().map((x) => x.key)).toEqual(['a']);
    expect(Object.isFrozen(balancer.targets())).toBe(true);
  });
});
