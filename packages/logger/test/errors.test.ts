import { describe, expect, it } from 'vitest';
import { createLogger, LoggerError, serializeError } from '../src/index.js';
import { only, sink } from './helpers.js';

interface SerializedShape {
  stack?: string;
  cause: { stack?: string };
}

describe('error serialization', () => {
  it('writes name, message, code, cause (recursively) and stack', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const mid = new TypeError('fetch failed', { cause: root });
    const top = Object.assign(new Error('upstream failed', { cause: mid }), { code: 'UPSTREAM_ERROR' });
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).error('request failed', { err: top });
    const { err } = only(out) as { err: SerializedShape };
    expect(err).toMatchObject({
      name: 'Error',
      message: 'upstream failed',
      code: 'UPSTREAM_ERROR',
      cause: {
        name: 'TypeError',
        message: 'fetch failed',
        cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' },
      },
    });
    expect(Object.keys(err)).toEqual(['name', 'message', 'code', 'cause', 'stack']);
    expect(err.stack).toBe(top.stack);
    expect(err.cause.stack).toBe(mid.stack);
    expect('code' in err.cause).toBe(false);
  });

  it('writes a cause that is not an Error as a value', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).error('x', {
      err: new Error('e', { cause: { status: 503 } }),
    });
    expect(only(out)).toMatchObject({ err: { cause: { status: 503 } } });
  });

  it('stops on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).error('x', { err: a });
    expect(only(out)).toMatchObject({ err: { message: 'a', cause: { message: 'b', cause: '[Circular]' } } });
  });

  it('writes the inner errors of an AggregateError', () => {
    const agg = Object.assign(
      new AggregateError([new Error('v4 refused'), new Error('v6 refused')], 'connect failed'),
      {
        code: 'ECONNREFUSED',
      },
    );
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).error('x', { err: agg });
    expect(only(out)).toMatchObject({
      err: {
        name: 'AggregateError',
        code: 'ECONNREFUSED',
        errors: [{ message: 'v4 refused' }, { message: 'v6 refused' }],
      },
    });
  });

  it('serializes errors nested anywhere, and in pretty format with the stack on the lines after', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).warn('x', {
      failures: [Object.assign(new Error('boom'), { code: 'E1' })],
    });
    const [record, head, frame] = out.lines();
    expect(record).toMatch(/ failures=\[\{"name":"Error","message":"boom","code":"E1"\}\]$/);
    expect(head).toBe('    failures[0]: Error: boom');
    expect(frame).toMatch(/^ {8}at /);
  });

  it('serializeError returns the plain shape', () => {
    const cause = new Error('c');
    const err = Object.assign(new RangeError('r', { cause }), { code: 42 });
    expect(serializeError(err)).toEqual({
      name: 'RangeError',
      message: 'r',
      code: 42,
      cause,
      stack: err.stack,
    });
  });
});

describe('option validation', () => {
  const notAStream = { write: 'no' };
  it.each([
    ['options', 'json', '`"json"` (string)'],
    ['format', { format: 'text' }, '`"text"` (string)'],
    ['level', { level: 'verbose' }, '`"verbose"` (string)'],
    ['level', { level: 3 }, '`3` (number)'],
    ['name', { name: 42 }, '`42` (number)'],
    ['destination', { destination: notAStream }, '`{"write":"no"}` (object)'],
    ['destination', { destination: null }, '`null` (null)'],
    ['color', { color: 'yes' }, '`"yes"` (string)'],
    ['fields', { fields: ['a'] }, '`["a"]` (array)'],
    ['fields', { fields: null }, '`null` (null)'],
    ['redactKeys', { redactKeys: 'cookie' }, '`"cookie"` (string)'],
    ['redactKeys', { redactKeys: [1] }, '`[1]` (array)'],
  ])('rejects a bad `%s` with ERR_LOGGER_INVALID_OPTION naming the value', (option, options, shown) => {
    let thrown: unknown;
    try {
      createLogger(options as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(LoggerError);
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ name: 'LoggerError', code: 'ERR_LOGGER_INVALID_OPTION' });
    expect((thrown as Error).message).toContain(`\`${option}\``);
    expect((thrown as Error).message).toContain(shown);
  });

  it('accepts no options at all, and undefined for each option', () => {
    expect(() => createLogger()).not.toThrow();
    expect(() =>
      createLogger({
        format: undefined,
        level: undefined,
        name: undefined,
        destination: undefined,
        color: undefined,
        fields: undefined,
        redactKeys: undefined,
      }),
    ).not.toThrow();
  });
});
