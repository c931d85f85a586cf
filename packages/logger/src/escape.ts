/*
 * Escaping of untrusted text, so that no value can end a log line early, forge a second record, or send
 * an escape sequence to the terminal that displays the log.
 *
 * "Unsafe" characters are: every C0 control (U+0000-U+001F, which includes CR, LF, TAB and ESC), DEL
 * (U+007F), every C1 control (U+0080-U+009F, which includes CSI U+009B and NEL U+0085), the Unicode line
 * and paragraph separators (U+2028, U+2029, shown as line breaks by some viewers), and the bidirectional
 * controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, which can reorder what a terminal shows).
 * Each is written as a `\uXXXX` escape (`\n`, `\r`, `\t`, `\b`, `\f` for the usual ones), which
 * `JSON.parse` turns back into the original character: escaping loses nothing.
 */

const UNSAFE = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';

/** A string that `'"' + s + '"'` cannot write as JSON: unsafe characters, `"`, `\`, or any surrogate. */
const JSON_SLOW_PATH = new RegExp(`["\\\\${UNSAFE}\\ud800-\\udfff]`);
/** Unsafe characters that `JSON.stringify` leaves as they are. */
const JSON_EXTRA = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const TEXT_UNSAFE_TEST = new RegExp(`[${UNSAFE}]`);
const TEXT_UNSAFE = new RegExp(`[${UNSAFE}]`, 'g');
/** A pretty value written without quotes must not contain any of these. */
const PRETTY_NEEDS_QUOTES = new RegExp(`[\\s"=\\\\${UNSAFE}]`);

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function unicodeEscape(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `s` as a JSON string literal, quotes included, with every unsafe character escaped (JSON.stringify
 * alone leaves DEL, the C1 controls, U+2028/U+2029 and the bidi controls raw).
 */
export function jsonString(s: string): string {
  if (!JSON_SLOW_PATH.test(s)) return `"${s}"`;
  return JSON.stringify(s).replace(JSON_EXTRA, unicodeEscape);
}

/** `s` with every unsafe character escaped, without quotes (the message and name of a pretty line). */
export function escapeText(s: string): string {
  return TEXT_UNSAFE_TEST.test(s) ? s.replace(TEXT_UNSAFE, unicodeEscape) : s;
}

/**
 * `s` as a pretty `key=value` token: as it is when it has no space, `"`, `=`, `\` or unsafe character
 * (and is not empty), otherwise quoted and escaped as a JSON string.
 */
export function prettyToken(s: string): string {
  return s === '' || PRETTY_NEEDS_QUOTES.test(s) ? jsonString(s) : s;
}
