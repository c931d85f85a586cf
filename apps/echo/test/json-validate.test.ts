import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonText } from '../src/json-validate.js';

/** The reference: what JSON.parse says about the bytes decoded as UTF-8. */
function parses(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The contract: well-formed UTF-8 and accepted by JSON.parse. */
function agrees(text: string | Uint8Array): void {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const expected = isUtf8(bytes) && parses(bytes);
  expect(isJsonText(bytes), JSON.stringify(Buffer.from(bytes).toString('latin1'))).toBe(expected);
}

describe('isJsonText', () => {
  it.each([
    '{}',
    '[]',
    '""',
    '0',
    '-0',
    '1.5e+10',
    '-12.25E-3',
    'true',
    'false',
    'null',
    ' \t\r\n{ "a" : [ 1 , 2 ] } \n',
    '{"a":{"b":{"c":[[],[{}]]}}}',
    '"\\u00e9\\ud800\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"é ✓ 😀"',
    '"\u007f"',
    '1e400',
    '['.repeat(10000) + ']'.repeat(10000),
  ])('accepts %j', (text) => {
    expect(isJsonText(Buffer.from(text))).toBe(true);
    agrees(text);
  });

  it.each([
    '',
    ' ',
    '{',
    '}',
    '[',
    '[1,]',
    '[,1]',
    '{"a":1,}',
    '{,}',
    '{"a"}',
    '{"a":}',
    '{a:1}',
    "'x'",
    '"abc',
    '"\\x"',
    '"\\u12"',
    '"\\u12G4"',
    '"a\nb"',
    '"\t"',
    '01',
    '-',
    '+1',
    '.5',
    '1.',
    '1e',
    '1e+',
    '--1',
    '0x10',
    'NaN',
    'Infinity',
    'tru',
    'truex',
    'nul',
    'nulll',
    'True',
    '{} {}',
    '[] 1',
    '\ufeff{}',
    '\u00a0{}',
    '{"a":1}}',
    '[1]]',
    '[1}',
    '{"a":1]',
    '1 2',
    '"a" "b"',
    '['.repeat(100),
    '{"a" 1}',
    '{"a"::1}',
    '[1 2]',
  ])('rejects %j', (text) => {
    expect(isJsonText(Buffer.from(text))).toBe(false);
    agrees(text);
  });

  it.each([
    ['2-byte', [0xc3, 0xa9], true],
    ['3-byte', [0xe2, 0x9c, 0x93], true],
    ['4-byte', [0xf0, 0x9f, 0x98, 0x80], true],
    ['the largest code point', [0xf4, 0x8f, 0xbf, 0xbf], true],
    ['U+E000 after the surrogates', [0xee, 0x80, 0x80], true],
    ['U+D7FF before the surrogates', [0xed, 0x9f, 0xbf], true],
    ['an overlong 2-byte form', [0xc0, 0xaf], false],
    ['an overlong 3-byte form', [0xe0, 0x80, 0xaf], false],
    ['an overlong 4-byte form', [0xf0, 0x80, 0x80, 0xaf], false],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], false],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['a lone continuation byte', [0x80], false],
    ['a truncated sequence', [0xe2, 0x9c], false],
    ['a truncated sequence before the quote', [0xf0, 0x9f, 0x98], false],
    ['0xff', [0xff], false],
    ['0xf5', [0xf5, 0x80, 0x80, 0x80], false],
  ])('inside a string, %s %j is accepted: %s', (_name, bytes, valid) => {
    const text = Buffer.from([0x22, ...bytes, 0x22]);
    expect(isJsonText(text)).toBe(valid);
    agrees(text);
  });

  it('rejects non-ASCII bytes outside strings', () => {
    expect(isJsonText(Buffer.from([0x5b, 0xc3, 0xa9, 0x5d]))).toBe(false);
  });

  it('agrees with isUtf8 && JSON.parse on random bytes inside a string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => {
        agrees(Buffer.from([0x22, ...bytes, 0x22]));
      }),
      { numRuns: 50000 },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            0x80,
            0x8f,
            0x90,
            0x9f,
            0xa0,
            0xbf,
            0xc0,
            0xc1,
            0xc2,
            0xdf,
            0xe0,
            0xe1,
            0xec,
            0xed,
            0xee,
            0xef,
            0xf0,
            0xf1,
            0xf3,
            0xf4,
            0xf5,
            0xff,
            0x41,
          ),
          { maxLength: 8 },
        ),
        (bytes) => {
          agrees(Buffer.from([0x22, ...bytes, 0x22]));
        },
      ),
      { numRuns: 50000 },
    );
  });

  it('agrees with JSON.parse on every string of up to 3 characters from a JSON-heavy alphabet', () => {
    const alphabet = [
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      ' ',
      '\n',
      '0',
      '1',
      '-',
      '.',
      'e',
      '+',
      '\\',
      'u',
      'a',
      't',
      'n',
      '\u0001',
      'é',
    ];
    const strings: string[] = [''];
    for (let length = 1; length <= 3; length++) {
      for (const prefix of strings.filter((s) => [...s].length === length - 1)) {
        for (const c of alphabet) strings.push(prefix + c);
      }
    }
    for (const s of strings) agrees(s);
  });

  it('accepts whatever JSON.stringify produces, with any JSON whitespace between tokens', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t', ' \r\n '), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(isJsonText(Buffer.from(text))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.parse on mutated JSON (a byte inserted, deleted or replaced)', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      ' ',
      '0',
      '1',
      '-',
      '.',
      'e',
      'E',
      '+',
      '\\',
      'u',
      'x',
      't',
      'f',
      'n',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
    );
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'replace'),
        token,
        (value, at, op, c) => {
          const text = JSON.stringify(value);
          const i = text.length === 0 ? 0 : at % (text.length + 1);
          const mutated =
            op === 'insert'
              ? text.slice(0, i) + c + text.slice(i)
              : op === 'delete'
                ? text.slice(0, i) + text.slice(i + 1)
                : text.slice(0, i) + c + text.slice(i + 1);
          agrees(mutated);
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('agrees with JSON.parse on random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => agrees(bytes)),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'{}[]":, 01-.eE+\\utrfalsn\t'.split('')), maxLength: 16 }),
        (s) => agrees(s),
      ),
      { numRuns: 50000 },
    );
  });
});
