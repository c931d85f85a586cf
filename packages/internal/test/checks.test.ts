import { describe, expect, it } from 'vitest';
import { isIntegerInRange, isItemIterable, isNumberInRange, isPlainObject } from '@roundguard/internal';

describe('isItemIterable', () => {
  it.each([
    ['an array', [1]],
    ['an empty array', []],
    ['a Set', new Set([1])],
    ['a Map', new Map()],
    ['a generator', (function* () {})()],
    ['a typed array', new Uint8Array(1)],
  ])('accepts %s', (_label, value) => {
    expect(isItemIterable(value)).toBe(true);
  });

  it.each([
    ['a string', 'abc'],
    ['an empty string', ''],
    ['a String object', new String('abc')],
    ['null', null],
    ['undefined', undefined],
    ['a number', 3],
    ['a plain object', { length: 1, 0: 'a' }],
  ])('refuses %s', (_label, value) => {
    expect(isItemIterable(value)).toBe(false);
  });
});

describe('range checks', () => {
  it('isIntegerInRange includes both ends and refuses fractions, NaN and non-numbers', () => {
    expect([0, 5, 10].map((v) => isIntegerInRange(v, 0, 10))).toEqual([true, true, true]);
    expect([-1, 11, 1.5, Number.NaN, '3', null].map((v) => isIntegerInRange(v, 0, 10))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('isNumberInRange accepts fractions and refuses infinities', () => {
    expect(isNumberInRange(1.5, 1, 2)).toBe(true);
    expect(isNumberInRange(Number.POSITIVE_INFINITY, 1, Number.POSITIVE_INFINITY)).toBe(false);
    expect(isNumberInRange(0.5, 1, 2)).toBe(false);
  });

  it('isPlainObject refuses null and arrays', () => {
    expect([{}, [], null, 'x'].map(isPlainObject)).toEqual([true, false, false, false]);
  });
});
