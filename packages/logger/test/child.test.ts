import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { sink } from './helpers.js';

describe('child loggers', () => {
  it('bind fields to every record, after the parent fields and before the call fields', () => {
    const out = sink();
    const root = createLogger({ format: 'json', name: 'proxy', destination: out.stream, fields: { pid: 1 } });
    const log = root.child({ req_id: 'abc' });
    log.info('request completed', { status: 200 });
    const [line] = out.lines();
    expect(line).toMatch(/"name":"proxy","msg":"request completed","pid":1,"req_id":"abc","status":200\}$/);
  });

  it('nest: a grandchild has every ancestor field; a repeated key takes the newest value', () => {
    const out = sink();
    const root = createLogger({ format: 'json', destination: out.stream });
    root.child({ a: 1, b: 1 }).child({ b: 2, c: 2 }).info('x');
    expect(out.records()[0]).toMatchObject({ a: 1, b: 2, c: 2 });
  });

  it('do not change the parent', () => {
    const out = sink();
    const root = createLogger({ format: 'json', destination: out.stream });
    root.child({ req_id: 'abc' });
    root.info('x');
    expect('req_id' in (out.records()[0] as object)).toBe(false);
  });

  it('copy the fields when created: later changes to the object are not seen', () => {
    const out = sink();
    const fields: Record<string, unknown> = { req_id: 'abc' };
    const log = createLogger({ format: 'json', destination: out.stream }).child(fields);
    fields.req_id = 'changed';
    log.info('x');
    expect(out.records()[0]).toMatchObject({ req_id: 'abc' });
  });

  it('share the level and the destination of the root', () => {
    const out = sink();
    const root = createLogger({ format: 'json', level: 'warn', destination: out.stream });
    const log = root.child({ req_id: 'abc' });
    expect(log.level).toBe('warn');
    log.info('hidden');
    log.warn('first');
    root.warn('second');
    expect(out.records().map((r) => r.msg)).toEqual(['first', 'second']);
  });

  it('let a call field override a bound one, keeping a single key', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream })
      .child({ req_id: 'abc', x: 1 })
      .info('m', { req_id: 'new' });
    const [line] = out.lines();
    expect(line?.match(/"req_id"/g)).toHaveLength(1);
    expect(line).toMatch(/"req_id":"new","x":1\}$/);
  });

  it('never throw on bound fields that cannot be serialized, and say so in the records', () => {
    const out = sink();
    const bad = {
      toJSON(): never {
        throw new Error('no json');
      },
    };
    const log = createLogger({ format: 'json', destination: out.stream }).child({ bad });
    log.info('x');
    expect(out.records()[0]).toMatchObject({
      msg: 'x',
      logger_error: 'bound fields could not be serialized: no json',
    });
  });

  it('work in pretty format too', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false })
      .child({ req_id: 'abc' })
      .info('m');
    expect(out.lines()[0]).toMatch(/ INFO {2}m req_id=abc$/);
  });

  it.each([null, 'req', 42, ['a'], new Error('x')])('throw ERR_LOGGER_INVALID_FIELDS for %j', (fields) => {
    const root = createLogger({ format: 'json', destination: sink().stream });
    expect(() => root.child(fields as never)).toThrow(
      expect.objectContaining({ code: 'ERR_LOGGER_INVALID_FIELDS' }),
    );
  });
});
