import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_WEIGHT, WeightedRoundRobin, type WeightedEntry } from '@roundguard/roundrobin';

function take<T>(rr: { next(): T | undefined }, n: number): (T | undefined)[] {
  return Array.from({ length: n }, () => rr.next());
}

function entries(weights: Record<string, number>): WeightedEntry<string>[] {
  return Object.entries(weights).map(([item, weight]) => ({ item, weight }));
}

/** Reference implementation, written out independently: nginx's loop over peers. */
function reference(weights: number[], picks: number): number[] {
  const current = weights.map(() => 0);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let p = 0; p < picks; p++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] === 0) continue;
      current[i]! += weights[i]!;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

describe('WeightedRoundRobin', () => {
  it("gives nginx's smooth sequence for {a:5, b:1, c:1}", () => {
    const wrr = new WeightedRoundRobin(entries({ a: 5, b: 1, c: 1 }));
    expect(take(wrr, 14).join(' ')).toBe('a a b a c a a a a b a c a a');
  });

  it('breaks ties in favour of the first entry', () => {
    const wrr = new WeightedRoundRobin(entries({ a: 1, b: 1, c: 1 }));
    expect(take(wrr, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('gives exact shares over one full cycle for {a:4, b:2, c:1}', () => {
    const wrr = new WeightedRoundRobin(entries({ a: 4, b: 2, c: 1 }));
    const picks = take(wrr, 7 * 10);
    expect(picks.filter((p) => p === 'a')).toHaveLength(40);
    expect(picks.filter((p) => p === 'b')).toHaveLength(20);
    expect(picks.filter((p) => p === 'c')).toHaveLength(10);
    expect(picks.slice(0, 7).join('')).toBe('abacaba');
  });

  it('keeps weight-0 entries out of rotation and out of items()', () => {
    const wrr = new WeightedRoundRobin(entries({ a: 1, b: 0, c: 1 }));
    expect(take(wrr, 4)).toEqual(['a', 'c', 'a', 'c']);
    expect(wrr.size).toBe(2);
    expect(wrr.items()).toEqual(['a', 'c']);
    expect(wrr.entries()).toHaveLength(3);
  });

  it('returns undefined when empty or when every weight is 0', () => {
    expect(new WeightedRoundRobin<string>().next()).toBeUndefined();
    const zero = new WeightedRoundRobin(entries({ a: 0, b: 0 }));
    expect(zero.next()).toBeUndefined();
    expect(zero.size).toBe(0);
  });

  it('matches the reference step by step for long cycles computed live (over the precompute bound)', () => {
    const weights = [MAX_WEIGHT, MAX_WEIGHT - 1, 3, 2];
    const wrr = new WeightedRoundRobin(weights.map((weight, item) => ({ item, weight })));
    expect(take(wrr, 5000)).toEqual(reference(weights, 5000));
  });

  describe('replace()', () => {
    it('continues at the same relative position of the cycle (same set)', () => {
      const wrr = new WeightedRoundRobin(entries({ a: 5, b: 1, c: 1 }));
      expect(take(wrr, 3).join(' ')).toBe('a a b');
      wrr.replace(entries({ a: 5, b: 1, c: 1 }));
      expect(take(wrr, 4).join(' ')).toBe('a c a a');
    });

    it('does not hand the heaviest item an extra share when replaced on every pick', () => {
      const wrr = new WeightedRoundRobin(entries({ a: 2, b: 1, c: 1 }));
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      for (let i = 0; i < 400; i++) {
        wrr.replace(entries({ a: 2, b: 1, c: 1 }));
        counts[wrr.next()!]!++;
      }
      expect(counts).toEqual({ a: 200, b: 100, c: 100 });
    });

    it('grows, shrinks, goes to empty and back', () => {
      const wrr = new WeightedRoundRobin(entries({ a: 1, b: 1 }));
      take(wrr, 1);
      wrr.replace(entries({ a: 1, b: 1, c: 1, d: 1 }));
      expect(wrr.size).toBe(4);
      const cycle = take(wrr, 4);
      expect(new Set(cycle).size).toBe(4);
      wrr.replace(entries({ a: 1 }));
      expect(take(wrr, 2)).toEqual(['a', 'a']);
      wrr.replace([]);
      expect(wrr.next()).toBeUndefined();
      wrr.replace(entries({ x: 2, y: 1 }));
      expect(take(wrr, 3)).toEqual(['x', 'y', 'x']);
    });

    it('leaves the rotation untouched when the new entries are invalid', () => {
      const wrr = new WeightedRoundRobin(entries({ a: 1, b: 1 }));
      expect(() => wrr.replace([{ item: 'z', weight: -1 }])).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_WEIGHT' }),
      );
      expect(take(wrr, 2)).toEqual(['a', 'b']);
    });
  });

  describe('weight', () => {
    it('defaults to 1 when omitted or undefined', () => {
      const wrr = new WeightedRoundRobin<string>([
        { item: 'a', weight: 2 },
        { item: 'b' },
        { item: 'c', weight: undefined },
      ]);
      expect(take(wrr, 8).join('')).toBe('abcaabca');
      expect(wrr.entries()).toEqual([
        { item: 'a', weight: 2 },
        { item: 'b', weight: 1 },
        { item: 'c', weight: 1 },
      ]);
    });

    it('gives plain round robin when every weight is omitted', () => {
      const wrr = new WeightedRoundRobin([{ item: 'a' }, { item: 'b' }, { item: 'c' }]);
      expect(take(wrr, 6).join('')).toBe('abcabc');
      expect(wrr.size).toBe(3);
    });
  });

  describe('bad input', () => {
    it.each([
      ['negative', -1, '`-1` (number)'],
      ['fractional', 1.5, '`1.5` (number)'],
      ['NaN', Number.NaN, '`NaN` (number)'],
      ['Infinity', Number.POSITIVE_INFINITY, '`Infinity` (number)'],
      ['a string', '3', '`"3"` (string)'],
      ['null', null, '`null` (null)'],
      ['above MAX_WEIGHT', MAX_WEIGHT + 1, `\`${MAX_WEIGHT + 1}\` (number)`],
    ])('throws ERR_RR_INVALID_WEIGHT for a %s weight and says what it received', (_label, weight, shown) => {
      let error: unknown;
      try {
        new WeightedRoundRobin([
          { item: 'a', weight: 1 },
          { item: 'b', weight: weight as number },
        ]);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'ERR_RR_INVALID_WEIGHT', name: 'RoundRobinError' });
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('entry 1');
      expect((error as Error).message).toContain(shown);
    });

    it.each([
      ['null', null],
      ['a string', 'a'],
      ['an object without item', { weight: 1 }],
    ])('throws ERR_RR_INVALID_ENTRY for %s', (_label, entry) => {
      expect(() => new WeightedRoundRobin([entry as never])).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_ENTRY' }),
      );
    });

    it('says what an entry without `item` was', () => {
      expect(() => new WeightedRoundRobin([{ item: 'a' }, { weight: 1 } as never])).toThrow(
        'Expected entry 1 to be an object with an `item` (and an optional `weight`), got `{"weight":1}` (object)',
      );
    });

    it.each([
      ['a number', 5],
      ['a string (it would rotate over its characters)', 'abc'],
      ['a String object', new String('abc')],
    ])('throws ERR_RR_INVALID_ITEMS for %s, from the constructor and replace', (_label, value) => {
      expect(() => new WeightedRoundRobin(value as never)).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_ITEMS', name: 'RoundRobinError' }),
      );
      const wrr = new WeightedRoundRobin([{ item: 'a', weight: 1 }]);
      expect(() => wrr.replace(value as never)).toThrow(
        expect.objectContaining({ code: 'ERR_RR_INVALID_ITEMS' }),
      );
      expect(wrr.items()).toEqual(['a']);
    });

    it('names the string it refused', () => {
      expect(() => new WeightedRoundRobin('abc' as never)).toThrow(
        'Expected `entries` to be an iterable other than a string (an array, a Set, ...), got `"abc"` (string)',
      );
    });
  });

  describe('properties over random weight sets', () => {
    const weightSets = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 });

    it('gives every item exactly its share in each cycle, matching nginx step for step', () => {
      fc.assert(
        fc.property(weightSets, (weights) => {
          const total = weights.reduce((a, b) => a + b, 0);
          const wrr = new WeightedRoundRobin(weights.map((weight, item) => ({ item, weight })));
          if (total === 0) return wrr.next() === undefined;
          const g = weights.reduce(gcd, 0);
          const cycle = total / g;
          const picks = take(wrr, cycle * 3) as number[];
          expect(picks).toEqual(reference(weights, cycle * 3));
          for (let c = 0; c < 3; c++) {
            const counts = weights.map(() => 0);
            for (const p of picks.slice(c * cycle, (c + 1) * cycle)) counts[p]!++;
            expect(counts).toEqual(weights.map((w) => w / g));
          }
          return true;
        }),
        { numRuns: 300 },
      );
    });

    it('stays smooth: after any prefix of picks, no item is 2 or more picks off its ideal share', () => {
      fc.assert(
        fc.property(weightSets, (weights) => {
          const total = weights.reduce((a, b) => a + b, 0);
          fc.pre(total > 0);
          const wrr = new WeightedRoundRobin(weights.map((weight, item) => ({ item, weight })));
          const counts = weights.map(() => 0);
          for (let t = 1; t <= total * 2; t++) {
            counts[wrr.next()!]!++;
            for (let i = 0; i < weights.length; i++) {
              // A burst (plain weighted round robin: a a a a a b c) is up to weight - 1 picks off the ideal;
              // the smooth variant stays within about one pick of t * weight / total at every prefix.
              expect(Math.abs(counts[i]! - (t * weights[i]!) / total)).toBeLessThan(2);
            }
          }
          return true;
        }),
        { numRuns: 200 },
      );
    });
  });
});
