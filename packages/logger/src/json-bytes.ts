/*
 * The fast path of the JSON format: a record is encoded byte by byte, straight into the buffer of a
 * `BatchedFdStream`, with no intermediate string. It covers the common record (an access log line):
 * plain-object fields whose keys and string values are printable ASCII without `"` or `\`, and whose
 * values are strings, finite numbers, booleans or `null`.
 *
 * Anything else (a character that needs escaping or is not ASCII, an object, an error, a bigint, a
 * field that overrides a bound one, a full buffer) makes `encode` give up and return -1 before it has
 * committed anything; the caller then formats the record as a string (`json-format.ts`). Both paths
 * write exactly the same bytes for a record the fast path accepts: the tests compare them.
 */
import { kDirectBuffer, kDirectCommit, kDirectOffset, type BatchedFdStream } from './batched-fd-stream.js';
import { isoTime } from './clock.js';
import type { KeyPlan, JsonValueWriter } from './json-value.js';
import type { LogLevel } from './levels.js';
import type { BoundFields } from './record-formatter.js';
import { REDACTED } from './redact.js';

const QUOTE = 0x22;

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const REDACTED_BYTES = utf8(`"${REDACTED}"`);
const TRUE_BYTES = utf8('true');
const FALSE_BYTES = utf8('false');
const NULL_BYTES = utf8('null');
const RECORD_END = utf8('}\n');

/** Below this many bytes a loop copies faster than `TypedArray#set` (a fixed ~25 ns). */
const SET_MIN_BYTES = 16;

/** A copy of `buf[start..end)` (a Buffer's own `slice` would share its memory). */
function copyOf(buf: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(buf, start, end);
}

/** Writes `bytes` at `pos`; returns the end, or -1 when `buf` has no room. */
function putBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (pos + n > buf.length) return -1;
  if (n >= SET_MIN_BYTES) buf.set(bytes, pos);
  else for (let i = 0; i < n; i++) buf[pos + i] = bytes[i] as number;
  return pos + n;
}

/**
 * Writes `s` at `pos` when every character is printable ASCII (U+0020-U+007E) other than `"` and `\`,
 * i.e. when it is its own JSON string body; returns the end, or -1 (some character needs the slow
 * path, or `buf` has no room).
 */
function putPlainAscii(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  if (pos + n > buf.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return -1;
    buf[pos + i] = c;
  }
  return pos + n;
}

/** Writes `s` as a JSON string literal, quotes included; -1 as {@link putPlainAscii}. */
function putString(buf: Uint8Array, pos: number, s: string): number {
  if (pos + s.length + 2 > buf.length) return -1;
  buf[pos] = QUOTE;
  const end = putPlainAscii(buf, pos + 1, s);
  if (end === -1) return -1;
  buf[end] = QUOTE;
  return end + 1;
}

/** Writes the decimal digits of `v`, an integer from 0 to 2^32 - 1; -1 when `buf` has no room. */
function putDigits(buf: Uint8Array, pos: number, v: number): number {
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  if (pos + digits > buf.length) return -1;
  let t = v;
  for (let i = pos + digits - 1; i >= pos; i--) {
    const q = Math.floor(t / 10);
    buf[i] = 0x30 + (t - q * 10);
    t = q;
  }
  return pos + digits;
}

/**
 * Writes a finite number exactly as `String(v)` does (what the string path writes); -1 for NaN and
 * the infinities. Integers and values with at most 3 decimals below 10^9 (durations in ms rounded to
 * microseconds) are written by hand: such a value has at most 15 significant digits, so its shortest
 * round-trip form, which `String` gives, is its decimal form with trailing zeros dropped.
 */
function putNumber(buf: Uint8Array, pos: number, v: number): number {
  if (v >= 0 && v <= 0xffffffff && v === Math.floor(v)) return putDigits(buf, pos, v);
  if (v > 0 && v < 1e9) {
    const k = Math.round(v * 1000);
    if (k / 1000 === v) {
      const whole = Math.floor(k / 1000);
      let frac = k - whole * 1000;
      let p = putDigits(buf, pos, whole);
      if (p === -1 || p + 4 > buf.length) return -1;
      buf[p++] = 0x2e;
      let scale = 100;
      while (frac > 0) {
        const d = Math.floor(frac / scale);
        buf[p++] = 0x30 + d;
        frac -= d * scale;
        scale /= 10;
      }
      return p;
    }
  }
  if (!Number.isFinite(v)) return -1;
  // Negatives, large values, more decimals: String's digits, signs, dot and exponent are ASCII.
  return putPlainAscii(buf, pos, String(v));
}

/** Encodes records of the JSON format into bytes; one per JSON formatter. */
export class JsonRecordEncoder {
  readonly #values: JsonValueWriter;
  /** Per level: `","level":"info","name":"proxy","msg":` (the time comes before it). */
  readonly #heads: Readonly<Record<LogLevel, Uint8Array>>;
  /** `{"time":"2026-11-25T22:10:00.123Z` for the millisecond {@link #timeMs}. */
  #timeBytes: Uint8Array = new Uint8Array(0);
  #timeMs = Number.NaN;
  /** The last message, and its JSON bytes: a call site logs the same message again and again. */
  #lastMsg = '';
  #lastMsgBytes: Uint8Array = utf8('""');
  /*
   * Per field position, for the last record: its key and plan (records of one call site repeat their
   * keys in order), and its value, with the bytes of `,"key":value` once the same value came twice in
   * a row (a method, a path, a status, a client address repeat; a duration does not).
   */
  readonly #lastKeys: string[] = [];
  readonly #lastPlans: KeyPlan[] = [];
  readonly #lastValues: unknown[] = [];
  readonly #lastBytes: (Uint8Array | undefined)[] = [];

  /**
   * @param heads per level, what the JSON formatter writes between the time and the message.
   * @param values the JSON formatter's value writer, whose key plans (renaming, redaction) this shares.
   */
  constructor(heads: Readonly<Record<LogLevel, string>>, values: JsonValueWriter) {
    this.#values = values;
    this.#heads = {
      error: utf8(heads.error),
      warn: utf8(heads.warn),
      info: utf8(heads.info),
      debug: utf8(heads.debug),
    };
  }

  /**
   * Writes the record at `pos` in `buf`, newline included, and returns where it ends; or -1 when the
   * record needs the string path (nothing before `pos` is touched; bytes after it may be).
   *
   * @param boundKeys the keys of the logger's bound fields: a call field with one of them makes the
   * record take the string path, which merges them.
   */
  encode(
    buf: Uint8Array,
    pos: number,
    now: number,
    level: LogLevel,
    msg: string,
    boundBytes: Uint8Array,
    boundKeys: ReadonlySet<string> | undefined,
    fields: object | undefined,
  ): number {
    if (now !== this.#timeMs) {
      this.#timeBytes = utf8(`{"time":"${isoTime(now)}`);
      this.#timeMs = now;
    }
    let p = putBytes(buf, pos, this.#timeBytes);
    if (p !== -1) p = putBytes(buf, p, this.#heads[level]);
    if (p === -1) return -1;
    if (msg === this.#lastMsg) {
      p = putBytes(buf, p, this.#lastMsgBytes);
    } else {
      const start = p;
      p = putString(buf, p, msg);
      if (p === -1) return -1;
      this.#lastMsg = msg;
      this.#lastMsgBytes = copyOf(buf, start, p);
    }
    if (p !== -1) p = putBytes(buf, p, boundBytes);
    if (p !== -1 && fields !== undefined) p = this.#fields(buf, p, boundKeys, fields);
    if (p !== -1) p = putBytes(buf, p, RECORD_END);
    return p;
  }

  #fields(buf: Uint8Array, pos: number, boundKeys: ReadonlySet<string> | undefined, fields: object): number {
    let p = pos;
    let i = 0;
    const lastKeys = this.#lastKeys;
    const lastValues = this.#lastValues;
    const lastBytes = this.#lastBytes;
    // `for...in` over an object whose prototype is Object.prototype (checked by the caller) visits its
    // own enumerable string keys, in Object.keys order, without allocating an array of them.
    for (const key in fields) {
      if (boundKeys !== undefined && boundKeys.has(key)) return -1;
      const value = (fields as Record<string, unknown>)[key];
      let plan: KeyPlan;
      if (i < lastKeys.length && lastKeys[i] === key) {
        plan = this.#lastPlans[i] as KeyPlan;
        if (value === lastValues[i]) {
          const bytes = lastBytes[i];
          if (bytes !== undefined) {
            p = putBytes(buf, p, bytes);
            if (p === -1) return -1;
            i++;
            continue;
          }
        }
      } else {
        plan = this.#values.plan(key);
        lastKeys[i] = key;
        this.#lastPlans[i] = plan;
        lastValues[i] = undefined;
        lastBytes[i] = undefined;
      }
      if (value !== undefined) {
        const start = p;
        p = putBytes(buf, p, plan.prefixBytes);
        if (p === -1) return -1;
        if (plan.redact) p = putBytes(buf, p, REDACTED_BYTES);
        else if (typeof value === 'string') p = putString(buf, p, value);
        else if (typeof value === 'number') p = putNumber(buf, p, value);
        else if (typeof value === 'boolean') p = putBytes(buf, p, value ? TRUE_BYTES : FALSE_BYTES);
        else if (value === null) p = putBytes(buf, p, NULL_BYTES);
        else return -1;
        if (p === -1) return -1;
        // Seen twice in a row: keep its bytes for the next time.
        if (value === lastValues[i]) lastBytes[i] = copyOf(buf, start, p);
        else {
          lastValues[i] = value;
          lastBytes[i] = undefined;
        }
      } else if (lastValues[i] !== undefined) {
        lastValues[i] = undefined;
        lastBytes[i] = undefined;
      }
      i++;
    }
    return p;
  }
}

/**
 * The fast path of a JSON logger whose destination is a {@link BatchedFdStream}: each record is encoded
 * straight into the stream's buffer, when {@link JsonRecordEncoder} can.
 */
export class DirectRecordWriter {
  readonly #encoder: JsonRecordEncoder;
  readonly #stream: BatchedFdStream;

  constructor(encoder: JsonRecordEncoder, stream: BatchedFdStream) {
    this.#encoder = encoder;
    this.#stream = stream;
  }

  /** Writes the record and returns `true`, or returns `false` having written nothing. */
  write(now: number, level: LogLevel, msg: string, bound: BoundFields, fields: unknown): boolean {
    if (
      fields !== undefined &&
      (typeof fields !== 'object' || Object.getPrototypeOf(fields) !== Object.prototype)
    ) {
      return false;
    }
    const stream = this.#stream;
    const buf = stream[kDirectBuffer]();
    if (buf === undefined) return false;
    let end: number;
    try {
      end = this.#encoder.encode(
        buf,
        stream[kDirectOffset](),
        now,
        level,
        msg,
        bound.fragmentBytes,
        bound.keys,
        fields as object | undefined,
      );
    } catch {
      // A throwing getter: the string path writes the record with a `logger_error` field.
      return false;
    }
    if (end === -1) return false;
    stream[kDirectCommit](end);
    return true;
  }
}
