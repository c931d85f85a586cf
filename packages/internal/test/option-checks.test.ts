import { describe, expect, it } from 'vitest';
import { optionChecks, type OptionChecks } from '@roundguard/internal';

class TestError extends TypeError {
  readonly code = 'ERR_TEST_INVALID_OPTION';
}

const option: OptionChecks = optionChecks((message) => new TestError(message));

function thrown(fn: () => unknown): TestError {
  try {
    fn();
  } catch (err) {
    return err as TestError;
  }
  throw new Error('did not throw');
}

describe('optionChecks', () => {
  it("throws the library's own error, with a message naming the option and the value", () => {
    const err = thrown(() => option.invalid('mode', "`'a'` or `'b'`", 'c'));
    expect(err).toBeInstanceOf(TestError);
    expect(err.code).toBe('ERR_TEST_INVALID_OPTION');
    expect(err.message).toBe("Expected `mode` to be `'a'` or `'b'`, got `\"c\"` (string)");
  });

  it('object: undefined is {}, an object is itself, null and arrays throw', () => {
    const given = { a: 1 };
    expect(option.object(undefined, 'options')).toEqual({});
    expect(option.object(given, 'options')).toBe(given);
    expect(thrown(() => option.object(null, 'options')).message).toBe(
      'Expected `options` to be an object, got `null` (null)',
    );
    expect(thrown(() => option.object([], 'options')).message).toBe(
      'Expected `options` to be an object, got `[]` (array)',
    );
  });

  it('boolean', () => {
    expect(option.boolean('unref', false)).toBe(false);
    expect(thrown(() => option.boolean('unref', 'yes')).message).toBe(
      'Expected `unref` to be a boolean, got `"yes"` (string)',
    );
  });

  it('integer: with and without an upper bound', () => {
    expect(option.integer('fall', 3, 1)).toBe(3);
    expect(thrown(() => option.integer('fall', 0, 1)).message).toBe(
      'Expected `fall` to be an integer from 1 and up, got `0` (number)',
    );
    expect(thrown(() => option.integer('n', 1.5, 0, 9)).message).toBe(
      'Expected `n` to be an integer from 0 to 9, got `1.5` (number)',
    );
    expect(thrown(() => option.integer('n', 10, 0, 9)).code).toBe('ERR_TEST_INVALID_OPTION');
  });

  it('milliseconds: fractions are allowed, out of range and non-finite throw', () => {
    expect(option.milliseconds('timeoutMs', 1.5, 1, 100)).toBe(1.5);
    expect(thrown(() => option.milliseconds('timeoutMs', Number.NaN, 1, 100)).message).toBe(
      'Expected `timeoutMs` to be a number of milliseconds from 1 to 100, got `NaN` (number)',
    );
    expect(() => option.milliseconds('timeoutMs', 101, 1, 100)).toThrow(TestError);
  });
});
