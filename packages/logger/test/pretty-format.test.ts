import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/index.js';
import { ANSI, onlyLine, sink, stripAnsi } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

function localClock(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

describe('pretty format', () => {
  it('writes `HH:MM:SS.mmm LEVEL name msg key=value ...` in local time', () => {
    const now = new Date('2026-11-25T22:10:00.045Z');
    vi.useFakeTimers({ now, toFake: ['Date'] });
    const out = sink();
    const logger = createLogger({ format: 'pretty', name: 'proxy', destination: out.stream, color: false });
    logger.info('request completed', {
      method: 'GET',
      path: '/v1/items',
      status: 200,
      duration_ms: 1.25,
      ok: true,
    });
    expect(onlyLine(out)).toBe(
      `${localClock(now)} INFO  proxy request completed method=GET path=/v1/items status=200 duration_ms=1.25 ok=true`,
    );
  });

  it('pads every level label to the same width', () => {
    const out = sink();
    const logger = createLogger({ format: 'pretty', level: 'debug', destination: out.stream, color: false });
    logger.error('e');
    logger.warn('w');
    logger.info('i');
    logger.debug('d');
    expect(out.lines().map((l) => l.slice(13))).toEqual(['ERROR e', 'WARN  w', 'INFO  i', 'DEBUG d']);
  });

  it('quotes values with spaces, quotes, = or backslashes, and empty strings', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).info('m', {
      a: 'two words',
      b: 'say "hi"',
      c: 'k=v',
      d: 'C:\\dir',
      e: '',
      f: 'plain-value_1.2',
    });
    expect(onlyLine(out)).toMatch(
      / m a="two words" b="say \\"hi\\"" c="k=v" d="C:\\\\dir" e="" f=plain-value_1\.2$/,
    );
  });

  it('writes objects, arrays and errors as compact JSON, and dates as ISO 8601', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).info('m', {
      obj: { a: 1, b: 'x y' },
      arr: [1, 2],
      at: new Date('2026-01-02T03:04:05.006Z'),
      nothing: null,
      skipped: undefined,
      big: 12n,
    });
    expect(onlyLine(out)).toMatch(
      / m obj=\{"a":1,"b":"x y"\} arr=\[1,2\] at=2026-01-02T03:04:05\.006Z nothing=null big=12$/,
    );
  });

  it('leaves the name out when none is given', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).warn('careful');
    expect(onlyLine(out)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}careful$/);
  });

  it('writes bound fields before call fields', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false, fields: { pid: 3 } })
      .child({ req_id: 'r1' })
      .info('m', { status: 404 });
    expect(onlyLine(out)).toMatch(/ m pid=3 req_id=r1 status=404$/);
  });
});

describe('pretty colors', () => {
  const esc = '\u001b[';

  it('colors the level: error red, warn yellow, info green, debug gray', () => {
    const out = sink();
    const logger = createLogger({ format: 'pretty', level: 'debug', destination: out.stream, color: true });
    logger.error('e');
    logger.warn('w');
    logger.info('i');
    logger.debug('d');
    const [e, w, i, d] = out.lines();
    expect(e).toContain(`${esc}31mERROR${esc}39m`);
    expect(w).toContain(`${esc}33mWARN ${esc}39m`);
    expect(i).toContain(`${esc}32mINFO ${esc}39m`);
    expect(d).toContain(`${esc}90mDEBUG${esc}39m`);
  });

  it.each([
    [200, '32'],
    [204, '32'],
    [301, '36'],
    [404, '33'],
    [429, '33'],
    [502, '31'],
    [503, '31'],
  ])('colors status=%i of an access record with SGR %s', (status, sgr) => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: true }).info('request completed', {
      status,
    });
    expect(onlyLine(out)).toContain(`=${esc}39m${esc}${sgr}m${status}${esc}39m`);
  });

  it('does not color a status that is not a number, or out of the HTTP classes', () => {
    const out = sink();
    const logger = createLogger({ format: 'pretty', destination: out.stream, color: true });
    logger.info('a', { status: '500' });
    logger.info('b', { status: 99 });
    const [a, b] = out.lines();
    expect(a?.endsWith('status=\u001b[39m500')).toBe(true);
    expect(b?.endsWith('status=\u001b[39m99')).toBe(true);
  });

  it('writes the same text with colors on and off, only the escape codes differ', () => {
    vi.useFakeTimers({ now: new Date('2026-11-25T22:10:00.123Z'), toFake: ['Date'] });
    const on = sink();
    const off = sink();
    const fields = { method: 'POST', status: 502, error_code: 'UPSTREAM_ERROR', headers: { host: 'h' } };
    createLogger({ format: 'pretty', name: 'proxy', destination: on.stream, color: true }).warn(
      'request completed',
      fields,
    );
    createLogger({ format: 'pretty', name: 'proxy', destination: off.stream, color: false }).warn(
      'request completed',
      fields,
    );
    expect(onlyLine(on)).toMatch(ANSI);
    expect(onlyLine(off)).not.toMatch(ANSI);
    expect(stripAnsi(onlyLine(on))).toBe(onlyLine(off));
  });
});

describe('pretty error stacks', () => {
  function withStack<E extends Error>(err: E, stack: string): E {
    Object.defineProperty(err, 'stack', { value: stack, configurable: true, writable: true });
    return err;
  }

  it("writes an error's stack on indented lines after the record's line, causes after it, in one write", () => {
    const cause = withStack(new Error('root'), 'Error: root\n    at h (/app/c.js:5:6)');
    const err = withStack(
      Object.assign(new Error('boom', { cause }), { code: 'E1' }),
      'Error: boom\n    at f (/app/a.js:1:2)\n    at g (/app/b.js:3:4)',
    );
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).error('failed', { err, n: 1 });
    expect(out.chunks).toHaveLength(1);
    const [record, ...stack] = out.lines();
    expect(record).toMatch(
      / ERROR failed err=\{"name":"Error","message":"boom","code":"E1","cause":\{"name":"Error","message":"root"\}\} n=1$/,
    );
    expect(stack).toEqual([
      '    err: Error: boom',
      '        at f (/app/a.js:1:2)',
      '        at g (/app/b.js:3:4)',
      '    err.cause: Error: root',
      '        at h (/app/c.js:5:6)',
    ]);
  });

  it('keeps a message with line breaks on the head line, escaped', () => {
    const err = withStack(new Error('a\nb\u001b[2J'), 'Error: a\nb\u001b[2J\n    at f (/app/a.js:1:2)');
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).error('failed', { err });
    expect(out.lines().slice(1)).toEqual(['    err: Error: a\\nb\\u001b[2J', '        at f (/app/a.js:1:2)']);
  });

  it('writes a stack without frames as its head line only, and one of another shape by its `at` lines', () => {
    const bare = withStack(new Error('boom'), 'Error: boom');
    const node = withStack(new TypeError('bad'), 'TypeError [ERR_X]: bad\n    at f (node:internal/x:1:2)');
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).warn('m', { bare, node });
    expect(out.lines().slice(1)).toEqual([
      '    bare: Error: boom',
      '    node: TypeError [ERR_X]: bad',
      '        at f (node:internal/x:1:2)',
    ]);
  });

  it('writes the stack of an error under a redacted key nowhere', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, color: false }).info('m', {
      cookie: new Error('secret'),
    });
    expect(out.lines()).toEqual([expect.stringMatching(/ m cookie=\[REDACTED\]$/)]);
  });

  it('writes each stack once when a call field overrides a bound one', () => {
    const out = sink();
    // `err` is written before `a` turns out to override a bound field and the fields are merged.
    createLogger({ format: 'pretty', destination: out.stream, color: false, fields: { a: 1 } }).error(
      'failed',
      {
        err: withStack(new Error('boom'), 'Error: boom\n    at f (/app/a.js:1:2)'),
        a: 2,
      },
    );
    const [record, ...stack] = out.lines();
    expect(record).toMatch(/ failed a=2 err=\{"name":"Error","message":"boom"\}$/);
    expect(stack).toEqual(['    err: Error: boom', '        at f (/app/a.js:1:2)']);
  });

  it('colors the frames gray, and the text is the same as without colors', () => {
    const err = withStack(new Error('boom'), 'Error: boom\n    at f (/app/a.js:1:2)');
    vi.useFakeTimers({ now: new Date('2026-11-25T22:10:00.123Z'), toFake: ['Date'] });
    const on = sink();
    const off = sink();
    createLogger({ format: 'pretty', destination: on.stream, color: true }).error('failed', { err });
    createLogger({ format: 'pretty', destination: off.stream, color: false }).error('failed', { err });
    expect(on.lines()[2]).toBe('    \u001b[90m    at f (/app/a.js:1:2)\u001b[39m');
    expect(stripAnsi(on.text())).toBe(off.text());
  });

  it('leaves the JSON format as it was: the stack stays in the record', () => {
    const err = withStack(new Error('boom'), 'Error: boom\n    at f (/app/a.js:1:2)');
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).error('failed', { err });
    expect(out.lines()).toHaveLength(1);
    expect(JSON.parse(out.lines()[0]!)).toMatchObject({
      err: { stack: 'Error: boom\n    at f (/app/a.js:1:2)' },
    });
  });
});
