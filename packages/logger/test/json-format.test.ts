import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/index.js';
import { only, onlyLine, sink } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('json format', () => {
  it('writes one object per line with time, level, name, msg, then the fields, in that order', () => {
    vi.useFakeTimers({ now: new Date('2026-11-25T22:10:00.123Z'), toFake: ['Date'] });
    const out = sink();
    const logger = createLogger({ format: 'json', name: 'proxy', destination: out.stream });
    logger.info('request completed', { method: 'GET', status: 200, duration_ms: 1.5 });
    expect(onlyLine(out)).toBe(
      '{"time":"2026-11-25T22:10:00.123Z","level":"info","name":"proxy","msg":"request completed","method":"GET","status":200,"duration_ms":1.5}',
    );
  });

  it('writes each record in a single write() call ending with a newline', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', destination: out.stream });
    logger.info('one');
    logger.warn('two', { a: 1 });
    expect(out.chunks).toHaveLength(2);
    for (const chunk of out.chunks) expect(chunk).toMatch(/^\{.*\}\n$/);
  });

  it('writes time as ISO 8601 in UTC, close to now', () => {
    const out = sink();
    const before = Date.now();
    createLogger({ format: 'json', destination: out.stream }).info('x');
    const { time } = only(out);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const t = Date.parse(time as string);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('leaves name out when none is given', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).info('x');
    expect(Object.keys(only(out))).toEqual(['time', 'level', 'msg']);
  });

  it('leaves fields whose value is undefined out', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).info('x', { a: undefined, b: null, c: 0 });
    const record = only(out);
    expect('a' in record).toBe(false);
    expect(record).toMatchObject({ b: null, c: 0 });
  });

  it('writes bound fields (option) before call fields, and a call field replaces a bound one in place', () => {
    const out = sink();
    const logger = createLogger({
      format: 'json',
      destination: out.stream,
      fields: { pid: 7, region: 'eu' },
    });
    logger.info('x', { region: 'us', status: 200 });
    logger.info('y');
    const [first, second] = out.lines();
    expect(first).toMatch(/"msg":"x","pid":7,"region":"us","status":200\}$/);
    expect(second).toMatch(/"msg":"y","pid":7,"region":"eu"\}$/);
  });

  it('writes fields named time, level, name or msg as field.<key>, never over the record keys', () => {
    const out = sink();
    createLogger({ format: 'json', name: 'proxy', destination: out.stream }).warn('real', {
      time: 'forged',
      level: 'error',
      name: 'other',
      msg: 'forged',
    });
    expect(only(out)).toMatchObject({
      level: 'warn',
      name: 'proxy',
      msg: 'real',
      'field.time': 'forged',
      'field.level': 'error',
      'field.name': 'other',
      'field.msg': 'forged',
    });
  });

  it('serializes values JSON cannot: bigint, NaN, Infinity, symbols, cycles, Map, Set, Date', () => {
    const out = sink();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    createLogger({ format: 'json', destination: out.stream }).info('x', {
      big: 2n ** 64n,
      nan: Number.NaN,
      inf: -Infinity,
      sym: Symbol('s'),
      fn: () => 1,
      cyclic,
      map: new Map<unknown, unknown>([
        ['k', 1],
        [2, 'two'],
      ]),
      set: new Set([1, 'a']),
      date: new Date('2026-01-02T03:04:05.006Z'),
      list: [1, undefined, () => 1, 'x'],
      url: new URL('http://example.com/a?b=c'),
    });
    expect(only(out)).toMatchObject({
      big: '18446744073709551616',
      nan: 'NaN',
      inf: '-Infinity',
      sym: 'Symbol(s)',
      cyclic: { a: 1, self: '[Circular]' },
      map: { k: 1, 2: 'two' },
      set: [1, 'a'],
      date: '2026-01-02T03:04:05.006Z',
      list: [1, null, null, 'x'],
      url: 'http://example.com/a?b=c',
    });
    expect('fn' in only(out)).toBe(false);
  });

  it('stops at 10 levels of nesting', () => {
    const out = sink();
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    createLogger({ format: 'json', destination: out.stream }).info('x', { deep });
    expect(out.text()).toContain('"[Object]"');
    expect(out.text()).not.toContain('"end"');
  });

  it('never throws on a field that cannot be serialized, and says so in the record', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', destination: out.stream, fields: { pid: 1 } });
    expect(() =>
      logger.info('x', {
        ok: 1,
        get bad(): unknown {
          throw new Error('getter exploded');
        },
      }),
    ).not.toThrow();
    expect(only(out)).toMatchObject({
      msg: 'x',
      pid: 1,
      logger_error: 'fields could not be serialized: getter exploded',
    });
  });

  it('makes sense of calls outside the types: an Error as message or as fields, a non-object as fields', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', destination: out.stream });
    const err = new Error('boom');
    logger.error(err as unknown as string);
    logger.error('failed', err as unknown as Record<string, unknown>);
    logger.info(42 as unknown as string, 'extra' as unknown as Record<string, unknown>);
    const [a, b, c] = out.records();
    expect(a).toMatchObject({ msg: 'boom', err: { name: 'Error', message: 'boom' } });
    expect(b).toMatchObject({ msg: 'failed', err: { name: 'Error', message: 'boom' } });
    expect(c).toMatchObject({ msg: '42', value: 'extra' });
  });
});
