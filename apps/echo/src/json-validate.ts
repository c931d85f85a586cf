/*
 * A JSON validator over bytes: answers "is this one JSON text?" without decoding a string or building the
 * value, which is what echo needs (it sends the bytes back untouched). On a 100-byte body it is several
 * times cheaper than `JSON.parse(buffer.toString())`.
 *
 * Contract: `isJsonText(bytes) === (isUtf8(bytes) && JSON.parse(bytes.toString('utf8')) does not throw)`. The grammar is RFC 8259's
 * (the one `JSON.parse` implements): whitespace is only space, tab, LF and CR; any value at the top level;
 * no control characters (U+0000 to U+001F) unescaped in strings; numbers without leading zeros, `+`, or a
 * bare `.`; `\u` escapes of any four hex digits (lone surrogates included, as JSON.parse accepts them).
 * Bytes of 0x80 and up can only appear inside strings, where they must form well-formed UTF-8 sequences
 * (checked here, so no separate `isUtf8` pass is needed).
 * `test/json-validate.test.ts` checks the contract against JSON.parse on generated and mutated inputs.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Container kinds on the nesting stack. */
const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** Bytes that end the fast scan of a string: `"`, `\\`, the control characters, and non-ASCII bytes. */
const STRING_SPECIAL = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_SPECIAL[c] = 1;
for (let c = 0x80; c < 0x100; c++) STRING_SPECIAL[c] = 1;
STRING_SPECIAL[QUOTE] = 1;
STRING_SPECIAL[BACKSLASH] = 1;

/** Characters allowed after a backslash (other than `u`). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const WHITESPACE = new Uint8Array(256);
for (const c of ' \t\n\r') WHITESPACE[c.charCodeAt(0)] = 1;

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function skipWhitespace(b: Uint8Array, i: number): number {
  // Fast exit: the next byte is rarely whitespace in compact JSON (every whitespace byte is <= 0x20).
  if (i < b.length && (b[i] as number) > 0x20) return i;
  while (i < b.length && WHITESPACE[b[i] as number] === 1) i++;
  return i;
}

/** `i` is at the opening quote; returns the index after the closing quote, or -1. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  for (;;) {
    while (i < n && STRING_SPECIAL[b[i] as number] === 0) i++;
    if (i >= n) return -1;
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    if (c >= 0x80) {
      i = skipUtf8(b, i, c);
      if (i < 0) return -1;
      continue;
    }
    if (c !== BACKSLASH) return -1; // an unescaped control character
    const e = b[i + 1];
    if (e === undefined) return -1;
    if (SIMPLE_ESCAPE[e] === 1) {
      i += 2;
    } else if (e === 0x75 /* u */) {
      if (
        i + 5 >= n ||
        HEX[b[i + 2] as number] !== 1 ||
        HEX[b[i + 3] as number] !== 1 ||
        HEX[b[i + 4] as number] !== 1 ||
        HEX[b[i + 5] as number] !== 1
      ) {
        return -1;
      }
      i += 6;
    } else {
      return -1;
    }
  }
}

function isContinuation(c: number | undefined): boolean {
  return c !== undefined && c >= 0x80 && c <= 0xbf;
}

/**
 * `i` is at a non-ASCII byte `c`; returns the index after its well-formed UTF-8 sequence, or -1 (Unicode
 * Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF, no stray continuation bytes).
 */
function skipUtf8(b: Uint8Array, i: number, c: number): number {
  const c1 = b[i + 1];
  if (c >= 0xc2 && c <= 0xdf) return isContinuation(c1) ? i + 2 : -1;
  if (c >= 0xe0 && c <= 0xef) {
    if (c1 === undefined) return -1;
    const low = c === 0xe0 ? 0xa0 : 0x80;
    const high = c === 0xed ? 0x9f : 0xbf;
    if (c1 < low || c1 > high || !isContinuation(b[i + 2])) return -1;
    return i + 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c1 === undefined) return -1;
    const low = c === 0xf0 ? 0x90 : 0x80;
    const high = c === 0xf4 ? 0x8f : 0xbf;
    if (c1 < low || c1 > high || !isContinuation(b[i + 2]) || !isContinuation(b[i + 3])) return -1;
    return i + 4;
  }
  return -1;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

/** `i` is at `-` or a digit; returns the index after the number, or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) {
    i++;
  } else if (isDigit(b[i])) {
    while (isDigit(b[i])) i++;
  } else {
    return -1;
  }
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  const e = b[i];
  if (e === 0x65 /* e */ || e === 0x45 /* E */) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function skipLiteral(b: Uint8Array, i: number, literal: readonly number[]): number {
  for (let k = 0; k < literal.length; k++) if (b[i + k] !== literal[k]) return -1;
  return i + literal.length;
}

/** Nesting stack reused across calls (the validator is synchronous): no allocation per body. */
let sharedStack = new Uint8Array(64);
/** Deeper stacks are allocated for the call only, so one pathological body does not pin memory. */
const MAX_SHARED_STACK = 64 * 1024;

/**
 * Whether `bytes` is well-formed UTF-8 and exactly one JSON text, optionally surrounded by whitespace.
 *
 * @example isJsonText(Buffer.from('{"a":[1,2]}')) // true
 * @example isJsonText(Buffer.from('{"a":[1,2]')) // false
 */
/**
 * Skips an object member's key, the colon and the whitespace after it (`"key" : `), from the key's
 * opening quote; returns the index of the member's value, or -1 when that is not what is there.
 */
function skipMemberKey(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  i = skipString(b, i);
  if (i < 0) return -1;
  i = skipWhitespace(b, i);
  if (b[i] !== COLON) return -1;
  return skipWhitespace(b, i + 1);
}

export function isJsonText(b: Uint8Array): boolean {
  const n = b.length;
  let stack = sharedStack;
  let depth = 0;
  let i = skipWhitespace(b, 0);

  for (;;) {
    // At the start of a value.
    const c = b[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
        if (grown.length <= MAX_SHARED_STACK) sharedStack = grown;
      }
      const kind = c === OPEN_OBJECT ? IN_OBJECT : IN_ARRAY;
      stack[depth++] = kind;
      i = skipWhitespace(b, i + 1);
      if (b[i] === (kind === IN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        depth--;
        i++;
      } else if (kind === IN_OBJECT) {
        // The first member's key and colon.
        i = skipMemberKey(b, i);
        if (i < 0) return false;
        continue;
      } else {
        continue;
      }
    } else if (c === QUOTE) {
      i = skipString(b, i);
    } else if (c === MINUS || isDigit(c)) {
      i = skipNumber(b, i);
    } else if (c === 0x74 /* t */) {
      i = skipLiteral(b, i, TRUE);
    } else if (c === 0x66 /* f */) {
      i = skipLiteral(b, i, FALSE);
    } else if (c === 0x6e /* n */) {
      i = skipLiteral(b, i, NULL);
    } else {
      return false;
    }
    if (i < 0) return false;

    // After a value: close containers, or move to the next element.
    for (;;) {
      i = skipWhitespace(b, i);
      if (depth === 0) return i === n;
      const d = b[i];
      if (stack[depth - 1] === IN_OBJECT) {
        if (d === CLOSE_OBJECT) {
          depth--;
          i++;
          continue;
        }
        if (d !== COMMA) return false;
        i = skipMemberKey(b, skipWhitespace(b, i + 1));
        if (i < 0) return false;
        break;
      } else {
        if (d === CLOSE_ARRAY) {
          depth--;
          i++;
          continue;
        }
        if (d !== COMMA) return false;
        i = skipWhitespace(b, i + 1);
        break;
      }
    }
  }
}
