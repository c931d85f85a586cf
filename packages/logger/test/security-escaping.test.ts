import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat } from '../src/index.js';
import { onlyLine, sink } from './helpers.js';

// Security regression tests: no value can end a line early (forging a record) or reach the terminal as
// a control sequence. Every control character is escaped: C0 (incl. CR, LF, TAB, ESC), DEL, C1.

/** Every character that must never appear raw in a log line. */
// eslint-disable-next-line no-control-regex
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const ALL_CONTROLS =
  Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('') +
  '\u007f' +
  Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
const ATTACK =
  'GET /\r\n{"level":"error","msg":"forged"}\n\u001b[2J\u001b]0;pwned\u0007\u007f\u009b31m\u0085end';
const formats: LogFormat[] = ['json', 'pretty'];

function render(
  format: LogFormat,
  log: (logger: ReturnType<typeof createLogger>) => void,
  name?: string,
): string {
  const out = sink();
  log(createLogger({ format, destination: out.stream, color: false, name }));
  return onlyLine(out);
}

describe.each(formats)('escaping (%s)', (format) => {
  it('keeps a message with CR, LF, ESC, DEL and C1 on one physical line, with no raw control character', () => {
    const line = render(format, (l) => l.info(ATTACK));
    expect(line).not.toMatch(RAW_UNSAFE);
    expect(line).toContain('\\r\\n');
    expect(line).toContain('\\u001b[2J');
    expect(line).toContain('\\u007f');
    expect(line).toContain('\\u009b');
  });

  it('escapes field values', () => {
    const line = render(format, (l) => l.info('m', { path: ATTACK, nested: { list: [ATTACK] } }));
    expect(line).not.toMatch(RAW_UNSAFE);
  });

  it('escapes field keys, nested keys included', () => {
    const line = render(format, (l) => l.info('m', { [ATTACK]: 1, headers: { [`x-${ATTACK}`]: 'v' } }));
    expect(line).not.toMatch(RAW_UNSAFE);
  });

  it('escapes the logger name and bound fields', () => {
    const out = sink();
    createLogger({ format, destination: out.stream, color: false, name: ATTACK, fields: { a: ATTACK } })
      .child({ [ATTACK]: ATTACK })
      .info('m');
    expect(onlyLine(out)).not.toMatch(RAW_UNSAFE);
  });

  it('escapes error messages and stacks: one write, one record line, stack lines indented', () => {
    const err = new Error(ATTACK, { cause: new Error(ATTACK) });
    const out = sink();
    createLogger({ format, destination: out.stream, color: false }).error('failed', { err });
    expect(out.chunks).toHaveLength(1);
    const [record, ...rest] = out.lines();
    expect(record).not.toMatch(RAW_UNSAFE);
    // JSON keeps the stacks in the record; pretty writes them after it, on indented lines.
    if (format === 'json') expect(rest).toEqual([]);
    else expect(rest.length).toBeGreaterThan(2);
    for (const line of rest) {
      expect(line).toMatch(/^ {4}/);
      expect(line).not.toMatch(RAW_UNSAFE);
    }
    if (format === 'pretty') {
      expect(rest.filter((l) => l.includes('forged'))).toEqual([
        expect.stringMatching(
          /^ {4}err: Error: GET \/\\r\\n\{"level":"error","msg":"forged"\}\\n\\u001b\[2J/,
        ),
        expect.stringMatching(/^ {4}err\.cause: Error: GET \/\\r\\n/),
      ]);
    }
  });

  it('escapes every C0, DEL and C1 control character', () => {
    const line = render(format, (l) => l.info(ALL_CONTROLS, { v: ALL_CONTROLS }));
    expect(line).not.toMatch(RAW_UNSAFE);
  });

  it('escapes Unicode line/paragraph separators and bidi controls', () => {
    const line = render(format, (l) => l.info('a\u2028b\u2029c\u202ed\u2066e', { v: '\u2028\u202e' }));
    expect(line).not.toMatch(RAW_UNSAFE);
    expect(line).toContain('\\u2028');
  });

  it('keeps one physical line for any string in msg, key and value (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        (s, k) => {
          const line = render(format, (l) => l.info(s, { [k]: s, n: { [k]: [s] } }));
          expect(line).not.toMatch(RAW_UNSAFE);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('escaping (json) loses nothing', () => {
  it('JSON.parse gives back the exact message, keys and values', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        (s, k) => {
          const key = ['time', 'level', 'name', 'msg'].includes(k) ? `${k}_` : k;
          const record = JSON.parse(render('json', (l) => l.info(s, { [key]: s }))) as Record<
            string,
            unknown
          >;
          expect(record.msg).toBe(s);
          expect(record[key]).toBe(s);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes DEL and C1 as \\u escapes, which JSON.parse turns back into the characters', () => {
    const line = render('json', (l) => l.info('a\u007fb\u0085c\u009bd'));
    expect(line).toContain('"msg":"a\\u007fb\\u0085c\\u009bd"');
    expect((JSON.parse(line) as { msg: string }).msg).toBe('a\u007fb\u0085c\u009bd');
  });
});

describe('escaping (pretty) renders controls readably', () => {
  it('writes \\n, \\r, \\t and \\u001b in the message', () => {
    const line = render('pretty', (l) => l.info('a\nb\rc\td\u001be'));
    expect(line).toMatch(/ INFO {2}a\\nb\\rc\\td\\u001be$/);
  });

  it('quotes a value that carries an escaped control character', () => {
    const line = render('pretty', (l) => l.info('m', { v: 'a\nb' }));
    expect(line).toMatch(/ v="a\\nb"$/);
  });
});
