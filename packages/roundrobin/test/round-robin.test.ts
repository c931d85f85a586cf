import { describe, expect, it } from 'vitest';
import { RoundRobin } from '@roundguard/roundrobin';

function take<T>(rr: { next(): T | undefined }, n: number): (T | undefined)[] {
  return Array.from({ length: n }, () => rr.next());
}

describe('RoundRobin', () => {
  it('returns undefined when empty', () => {
    const rr = new RoundRobin<string>();
    expect(rr.next()).toBeUndefined();
    expect(rr.size).toBe(0);
    expect(rr.items()).toEqual([]);
  });

  it.each([1, 2, 3, 7, 100])('hands out %i items in strict rotation over k*n picks', (n) => {
    const items = Array.from({ length: n }, (_, i) => `u${i}`);
    const rr = new RoundRobin(items);
    const k = 5;
    const picks = take(rr, k * n);
    expect(picks).toEqual(Array.from({ length: k }, () => items).flat());
  });

  it('copies its input: later changes to the source array have no effect', () => {
    const source = ['a', 'b'];
    const rr = new RoundRobin(source);
    source.push('c');
    expect(take(rr, 4)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('exposes a frozen snapshot from items() and its size', () => {
    const rr = new RoundRobin(new Set(['a', 'b', 'c']));
    expect(rr.size).toBe(3);
    expect(rr.items()).toEqual(['a', 'b', 'c']);
    expect(Object.isFrozen(rr.items())).toBe(true);
  });

  describe('replace() mid-rotation', () => {
    it('goes on with the next item instead of restarting (same set)', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      expect(take(rr, 2)).toEqual(['a', 'b']);
      rr.replace(['a', 'b', 'c']);
      expect(take(rr, 4)).toEqual(['c', 'a', 'b', 'c']);
    });

    it('grows: the rotation continues and includes the new item', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      expect(take(rr, 1)).toEqual(['a']);
      rr.replace(['a', 'b', 'c', 'd']);
      expect(take(rr, 6)).toEqual(['b', 'c', 'd', 'a', 'b', 'c']);
    });

    it('shrinks: skips the removed item and continues after it', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      expect(take(rr, 1)).toEqual(['a']);
      rr.replace(['a', 'c']);
      expect(take(rr, 4)).toEqual(['c', 'a', 'c', 'a']);
    });

    it('shrinks when the last item picked is removed', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      expect(take(rr, 2)).toEqual(['a', 'b']);
      rr.replace(['a', 'c']);
      expect(take(rr, 3)).toEqual(['c', 'a', 'c']);
    });

    it('goes to empty and back from empty', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      take(rr, 2);
      rr.replace([]);
      expect(rr.next()).toBeUndefined();
      expect(rr.size).toBe(0);
      rr.replace(['x', 'y']);
      expect(take(rr, 4)).toEqual(['x', 'y', 'x', 'y']);
    });

    it('starts from an empty constructor', () => {
      const rr = new RoundRobin<number>();
      rr.replace([1, 2]);
      expect(take(rr, 3)).toEqual([1, 2, 1]);
    });

    it('wraps the position when none of the old items remain', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      take(rr, 2);
      rr.replace(['x', 'y', 'z', 'w']);
      expect(take(rr, 4)).toEqual(['z', 'w', 'x', 'y']);
    });

    it('never restarts at item 0 when the same set is replaced on every pick', () => {
      const rr = new RoundRobin(['a', 'b', 'c']);
      const counts = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        rr.replace(['a', 'b', 'c']);
        const v = rr.next()!;
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      expect([...counts.values()]).toEqual([100, 100, 100]);
    });

    it('never shows a half-replaced set: items() taken before replace is unchanged', () => {
      const rr = new RoundRobin(['a', 'b']);
      const before = rr.items();
      rr.replace(['c']);
      expect(before).toEqual(['a', 'b']);
      expect(rr.items()).toEqual(['c']);
    });
  });

  describe('bad input', () => {
    it.each([
      ['null', null],
      ['a number', 42],
      ['a plain object', { a: 1 }],
      ['a string (it would rotate over its characters)', 'abc'],
      ['an empty string', ''],
      ['a String object', new String('ab')],
    ])('throws ERR_RR_INVALID_ITEMS when items is %s', (_label, value) => {
      expect(() => new RoundRobin(value as never)).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_ITEMS' }),
      );
      const rr = new RoundRobin(['a']);
      expect(() => rr.replace(value as never)).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_ITEMS', name: 'RoundRobinError' }),
      );
      expect(rr.items()).toEqual(['a']);
    });

    it('is a TypeError that says what it received', () => {
      let error: unknown;
      try {
        new RoundRobin('abc' as never);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        'Expected `items` to be an iterable other than a string (an array, a Set, ...), got `"abc"` (string)',
      );
    });
  });
});
