import { describe as suite, expect, it } from 'vitest';
import { describe, expected } from '@roundguard/internal';

suite('describe', () => {
  it.each([
    ['a string', 'x', '`"x"` (string)'],
    ['a string with a quote and a newline', 'a"\n', '`"a\\"\\n"` (string)'],
    ['a number', -1, '`-1` (number)'],
    ['minus zero', -0, '`-0` (number)'],
    ['NaN', Number.NaN, '`NaN` (number)'],
    ['Infinity', Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    ['a bigint', 10n, '`10n` (bigint)'],
    ['a boolean', false, '`false` (boolean)'],
    ['undefined', undefined, '`undefined` (undefined)'],
    ['null', null, '`null` (null)'],
    ['an array', [1, 'a'], '`[1,"a"]` (array)'],
    ['an object', { a: 1 }, '`{"a":1}` (object)'],
    ['a symbol', Symbol('s'), '`Symbol(s)` (symbol)'],
  ])('renders %s with its type', (_label, value, shown) => {
    expect(describe(value)).toBe(shown);
  });

  it('renders a function by its source, cut to 80 characters', () => {
    const shown = describe(function named() {
      return 'a long body that goes on and on past the eighty characters kept in a message';
    });
    expect(shown).toMatch(/^`function named\(\) \{.*\.\.\.` \(function\)$/s);
    expect(shown.length).toBe(80 + '`` (function)'.length);
  });

  it('cuts a long value to 80 characters ending in ...', () => {
    const shown = describe('x'.repeat(200));
    expect(shown).toBe(`\`"${'x'.repeat(76)}...\` (string)`);
  });

  it('never throws: cyclic, throwing toJSON, null prototype, cyclic null prototype', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = {
      toJSON() {
        throw new Error('no');
      },
    };
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    const bareCyclic = Object.create(null) as Record<string, unknown>;
    bareCyclic.self = bareCyclic;
    expect(describe(cyclic)).toBe('`[object Object]` (object)');
    expect(describe(throwing)).toBe('`[object Object]` (object)');
    expect(describe(bare)).toBe('`{"a":1}` (object)');
    expect(describe(bareCyclic)).toBe('`[object Object]` (object)');
    expect(describe({ big: 1n })).toBe('`[object Object]` (object)');
  });
});

suite('expected', () => {
  it('says what was expected and what was received', () => {
    expect(expected('`fall`', 'an integer from 1 and up', 0)).toBe(
      'Expected `fall` to be an integer from 1 and up, got `0` (number)',
    );
  });
});
