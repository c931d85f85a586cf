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
