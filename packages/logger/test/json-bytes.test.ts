// The JSON fast path (records encoded straight into a BatchedFdStream's buffer) must write exactly the
// bytes the string path writes, for every record, and step aside for the records it does not cover.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchedFdStream } from '../src/batched-fd-stream.js';
import { createLogger } from '../src/index.js';
import type { JsonRecordEncoder } from '../src/json-bytes.js';
import { JsonFormatter } from '../src/json-format.js';
import { Redactor } from '../src/redact.js';
import type { LogFields, Logger } from '../src/types.js';
import { sink } from './helpers.js';

let dir: string | undefined;
afterEach(() => {
  vi.useRealTimers();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tempFile(): { fd: number; path: string } {
  dir ??= mkdtempSync(join(tmpdir(), 'json-bytes-'));
  const path = join(dir, `out-${Math.random().toString(36).slice(2)}.log`);
  return { fd: openSync(path, 'w'), path };
}

type Call = readonly [level: 'error' | 'warn' | 'info' | 'debug', msg: string, fields: LogFields | undefined];

interface Setup {
  name?: string;
  bound?: LogFields;
  child?: LogFields;
  redactKeys?: string[];
}

/** Runs the same calls through the fast path (a BatchedFdStream) and the string path (a Writable). */
function bothPaths(setup: Setup, calls: readonly Call[]): { fast: string; slow: string } {
  // Both loggers must see the same clock.
  if (!vi.isFakeTimers()) vi.useFakeTimers({ now: Date.parse('2026-11-26T04:00:00.000Z'), toFake: ['Date'] });
  const { fd, path } = tempFile();
  const stream = new BatchedFdStream(fd);
  const out = sink();
  const make = (destination: NodeJS.WritableStream): Logger => {
    const root = createLogger({
      format: 'json',
      level: 'debug',
      destination,
      ...(setup.name === undefined ? {} : { name: setup.name }),
      ...(setup.bound === undefined ? {} : { fields: setup.bound }),
      ...(setup.redactKeys === undefined ? {} : { redactKeys: setup.redactKeys }),
    });
    return setup.child === undefined ? root : root.child(setup.child);
  };
  const fastLogger = make(stream);
  const slowLogger = make(out.stream);
  for (const [level, msg, fields] of calls) {
    fastLogger[level](msg, fields);
    slowLogger[level](msg, fields);
  }
  stream.flushSync();
  closeSync(fd);
  return { fast: readFileSync(path, 'utf8'), slow: out.text() };
}

const accessRecord = (i: number): LogFields => ({
  method: i % 3 === 0 ? 'GET' : 'POST',
  path: '/echo',
  status: i % 5 === 0 ? 404 : 200,
  bytes_in: 101,
  bytes_out: i % 5 === 0 ? 98 : 101,
  duration_ms: Math.round(Math.random() * 5_000_000) / 1000,
  client_ip: '127.0.0.1',
  req_id: i % 2 === 0 ? `req-${i}` : undefined,
  error_code: i % 5 === 0 ? 'NOT_FOUND' : null,
  cached: i % 7 === 0,
});

describe('JSON fast path: same bytes as the string path', () => {
  it('for access records that repeat and vary their values, with a name and bound fields', () => {
    vi.useFakeTimers({ now: new Date('2026-11-26T04:00:00.000Z'), toFake: ['Date'] });
    const calls: Call[] = [];
    for (let i = 0; i < 500; i++) {
      calls.push(['info', 'request completed', accessRecord(i)]);
      if (i % 50 === 0) vi.advanceTimersByTime(7);
      if (i % 97 === 0) calls.push(['warn', 'other message', { reason: 'x', count: i }]);
    }
    const { fast, slow } = bothPaths({ name: 'echo-3000', bound: { pid: 42 }, child: { worker: 1 } }, calls);
    expect(fast).toBe(slow);
    expect(fast.split('\n')).toHaveLength(calls.length + 1);
  });

  it('for records the fast path declines, written in order among fast ones', () => {
    const calls: Call[] = [
      ['info', 'plain', { a: 1 }],
      ['info', 'non-ASCII message: é ✓', { a: 1 }],
      ['info', 'plain', { text: 'line\nbreak "quoted" \\ back' }],
      ['info', 'plain', { nested: { deep: [1, 'two', null] } }],
      ['info', 'plain', { big: 10n, nan: Number.NaN, inf: -Infinity }],
      ['info', 'plain', { err: new Error('boom') }],
      ['info', 'plain', { pid: 7 }], // overrides a bound field: the string path merges them
      ['info', 'plain', { authorization: 'Bearer secret', cookie: 'a=b', safe: 'yes' }],
      ['info', 'plain', { time: 'x', level: 'y', msg: 'z', name: 'w' }],
      ['info', 'plain', Object.assign(Object.create(null) as object, { a: 1 })],
      ['info', 'bidi \u202e and C1 \u0085', { v: 'del \u007f' }],
      ['info', 'plain', { a: 1 }],
    ];
    const { fast, slow } = bothPaths({ name: 'n', bound: { pid: 1 } }, calls);
    expect(fast).toBe(slow);
    expect(fast).toContain('"authorization":"[REDACTED]"');
    expect(fast).toContain('"field.time":"x"');
  });

  it('for any record (property)', () => {
    const key = fc.oneof(
      fc.constantFrom('method', 'path', 'status', 'time', 'msg', 'authorization', 'Cookie', 'token', 'pid'),
      fc.string({ maxLength: 8 }),
    );
    const text = fc.oneof(
      fc.constantFrom('GET', '/echo', '127.0.0.1', ''),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    const number = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 32 + 5 }),
      fc.integer({ min: -1000, max: 1_000_000_000_000 }).map((k) => k / 1000),
      fc.double(),
      fc.constantFrom(0, -0, 1e21, 1e-7, 0.1 + 0.2, 999_999_999.999, 123_456_789.123),
    );
    const value = fc.oneof(
      text,
      number,
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.integer(), { maxLength: 2 }),
    );
    const fields = fc.option(fc.dictionary(key, value, { maxKeys: 6 }), { nil: undefined });
    const call = fc.tuple(fc.constantFrom('error', 'warn', 'info', 'debug'), text, fields);
    fc.assert(
      fc.property(
        fc.array(call, { minLength: 1, maxLength: 8 }),
        fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
        fc.boolean(),
        (calls, name, bound) => {
          const { fast, slow } = bothPaths(
            {
              ...(name === undefined ? {} : { name }),
              ...(bound ? { bound: { pid: 3 } } : {}),
              redactKeys: ['token'],
            },
            calls,
          );
          expect(fast).toBe(slow);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for numbers: every value with up to 3 decimals, and others, as String() writes them', () => {
    const { fd, path } = tempFile();
    const stream = new BatchedFdStream(fd);
    const logger = createLogger({ format: 'json', destination: stream });
    const values: number[] = [];
    for (let k = 0; k < 20_000; k++) values.push(k / 1000);
    for (let k = 999_999_000_000; k < 999_999_000_050; k++) values.push(k / 1000);
    values.push(2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -0.5, 1e-7, 5e-324, Number.MAX_VALUE, 0.1 + 0.2);
    for (const v of values) logger.info('n', { v });
    stream.flushSync();
    closeSync(fd);
    const written = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(written).toHaveLength(values.length);
    written.forEach((line, i) => {
      expect(line.slice(line.indexOf('"v":') + 4, -1)).toBe(String(values[i]));
    });
  });
});

describe('JsonRecordEncoder', () => {
  const encoder = (): JsonRecordEncoder => new JsonFormatter('proxy', new Redactor([])).byteEncoder();
  const NOW = Date.parse('2026-11-26T04:00:00.000Z');
  const none = new Uint8Array(0);

  it('encodes an access record and says where it ends', () => {
    const buf = Buffer.alloc(1024);
    const end = encoder().encode(buf, 3, NOW, 'info', 'request completed', none, undefined, {
      method: 'GET',
      status: 200,
      duration_ms: 1.5,
    });
    expect(buf.subarray(3, end).toString()).toBe(
      '{"time":"2026-11-26T04:00:00.000Z","level":"info","name":"proxy","msg":"request completed","method":"GET","status":200,"duration_ms":1.5}\n',
    );
  });

  it.each([
    ['a non-ASCII value', { v: 'é' }],
    ['a control character', { v: 'a\tb' }],
    ['a quote', { v: 'a"b' }],
    ['an object', { v: { a: 1 } }],
    ['a bigint', { v: 1n }],
    ['NaN', { v: Number.NaN }],
  ])('gives up (-1) on %s, leaving the bytes before its position alone', (_, fields) => {
    const buf = Buffer.alloc(1024, 0x2a);
    expect(encoder().encode(buf, 10, NOW, 'info', 'm', none, undefined, fields as LogFields)).toBe(-1);
    expect(buf.subarray(0, 10).every((b) => b === 0x2a)).toBe(true);
  });

  it('gives up on a field that overrides a bound one, and when the buffer has no room', () => {
    const buf = Buffer.alloc(1024);
    expect(encoder().encode(buf, 0, NOW, 'info', 'm', none, new Set(['pid']), { pid: 1 })).toBe(-1);
    const small = Buffer.alloc(80);
    expect(encoder().encode(small, 0, NOW, 'info', 'm', none, undefined, { path: '/a'.repeat(20) })).toBe(-1);
    // Room for exactly the record.
    const record = { path: '/a' };
    const len = encoder().encode(buf, 0, NOW, 'info', 'm', none, undefined, record);
    expect(encoder().encode(Buffer.alloc(len), 0, NOW, 'info', 'm', none, undefined, record)).toBe(len);
    expect(encoder().encode(Buffer.alloc(len - 1), 0, NOW, 'info', 'm', none, undefined, record)).toBe(-1);
  });
});

describe('a JSON logger into a BatchedFdStream', () => {
  it('writes every record in order across many buffer-fulls, mixing both paths', () => {
    const { fd, path } = tempFile();
    const stream = new BatchedFdStream(fd);
    const logger = createLogger({ format: 'json', destination: stream });
    for (let i = 0; i < 3000; i++) {
      logger.info('request completed', i % 10 === 0 ? { i, note: 'é' } : { i, path: '/x'.repeat(i % 40) });
    }
    stream.flushSync();
    closeSync(fd);
    const records = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { i: number });
    expect(records.map((r) => r.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('waits for fast-path records on flush(), and drops them once the stream is closed', async () => {
    const { fd, path } = tempFile();
    const stream = new BatchedFdStream(fd);
    const logger = createLogger({ format: 'json', destination: stream });
    logger.info('one', { a: 1 });
    expect(stream.writableLength).toBeGreaterThan(0);
    await logger.flush();
    expect(stream.writableLength).toBe(0);
    expect(readFileSync(path, 'utf8')).toMatch(/"msg":"one","a":1\}\n$/);
    closeSync(fd);
    // The descriptor is gone: the next write fails, the stream closes, later records are dropped.
    const errors: Error[] = [];
    stream.on('error', (err: Error) => errors.push(err));
    logger.info('two', { a: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(stream.destroyed).toBe(true);
    logger.info('three', { a: 3 });
    expect(stream.writableLength).toBe(0);
    await logger.flush();
  });
});
