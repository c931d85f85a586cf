import { Chalk, type ChalkInstance } from 'chalk';
import { wallClock } from './clock.js';
import { escapeText, prettyToken } from './escape.js';
import { fieldKey, JsonValueWriter, type LiftedStack } from './json-value.js';
import type { LogLevel } from './levels.js';
import { renderFields, type BoundFields, type RecordFormatter } from './record-formatter.js';
import { REDACTED, type Redactor } from './redact.js';
import type { LogFields } from './types.js';

/** Keys whose ` key=` rendering is memoized (bounds memory if keys are unbounded). */
const MAX_CACHED_KEYS = 1024;

/** Indent of the lines that follow a record's line (an error's stack). */
const INDENT = '    ';

const LABELS: Readonly<Record<LogLevel, string>> = {
  error: 'ERROR',
  warn: 'WARN ',
  info: 'INFO ',
  debug: 'DEBUG',
};

/**
 * One colored line per record, for people at a terminal:
 * `22:10:00.123 INFO  proxy request completed method=GET status=200 duration_ms=1.2`.
 *
 * The time is local wall-clock time. Strings with a space, `"`, `=`, `\` or an unsafe character are
 * quoted and escaped like JSON strings; objects, arrays and errors are written as compact JSON. With
 * colors on, the level is red/yellow/green/gray, and a numeric `status` field (an access record) is
 * green for 2xx, cyan for 3xx, yellow for 4xx and red for 5xx.
 *
 * An error in the call's fields is written without its stack on the record's line; its stack follows on
 * indented lines, one per frame, headed by where the error is (`err: Error: boom`, `err.cause: ...`).
 * Unsafe characters are escaped on those lines too, and a message that contains a line break stays on
 * its head line, so a record cannot forge another one.
 */
export class PrettyFormatter implements RecordFormatter {
  readonly #values: JsonValueWriter;
  readonly #redactor: Redactor;
  readonly #chalk: ChalkInstance | undefined;
  /** Per level: what follows the time, up to the message (label and name, colored). */
  readonly #heads: Readonly<Record<LogLevel, string>>;
  readonly #render: (fields: LogFields, stop?: ReadonlySet<string>) => string | undefined;
  readonly #prefixes = new Map<string, string>();
  /** Stacks lifted out of the record being formatted (reused from record to record). */
  readonly #lifted: LiftedStack[] = [];

  constructor(name: string | undefined, redactor: Redactor, color: boolean) {
    const chalk = color ? new Chalk({ level: 1 }) : undefined;
    const paint: Readonly<Record<LogLevel, (s: string) => string>> = chalk
      ? { error: chalk.red, warn: chalk.yellow, info: chalk.green, debug: chalk.gray }
      : { error: plain, warn: plain, info: plain, debug: plain };
    const named = name === undefined ? '' : ` ${chalk ? chalk.cyan(escapeText(name)) : escapeText(name)}`;
    const head = (level: LogLevel): string => ` ${paint[level](LABELS[level])}${named} `;
    this.#values = new JsonValueWriter(redactor);
    this.#redactor = redactor;
    this.#chalk = chalk;
    this.#heads = { error: head('error'), warn: head('warn'), info: head('info'), debug: head('debug') };
    this.#render = (fields, stop) => {
      const mark = this.#lifted.length;
      const text = this.#fields(fields, stop);
      // Given up part-way (a call field overrides a bound one): the merged fields are rendered again.
      if (text === undefined) this.#lifted.length = mark;
      return text;
    };
  }

  bind(fields: LogFields): string {
    return this.#fields(fields) ?? '';
  }

  format(
    now: number,
    level: LogLevel,
    msg: string,
    bound: BoundFields,
    fields: LogFields | undefined,
  ): string {
    const time = this.#chalk ? this.#chalk.gray(wallClock(now)) : wallClock(now);
    const lifted = this.#lifted;
    lifted.length = 0;
    this.#values.collectStacks(lifted);
    let rendered: string;
    try {
      rendered = renderFields(bound, fields, this.#render);
    } finally {
      this.#values.collectStacks(undefined);
    }
    let out = `${time}${this.#heads[level]}${escapeText(msg)}${rendered}\n`;
    for (let i = 0; i < lifted.length; i++) out += this.#stack(lifted[i] as LiftedStack);
    lifted.length = 0;
    return out;
  }

  /** An error's stack as indented lines: `    err: Error: boom`, then `        at f (file:1:2)` per frame. */
  #stack({ path, name, message, stack }: LiftedStack): string {
    const [head, frames] = splitStack(stack, name, message);
    let out = `${INDENT}${escapeText(path)}: ${escapeText(head)}\n`;
    for (const frame of frames) {
      const line = escapeText(frame);
      out += `${INDENT}${this.#chalk ? this.#chalk.gray(line) : line}\n`;
    }
    return out;
  }

  #fields(fields: LogFields, stop?: ReadonlySet<string>): string | undefined {
    let out = '';
    const keys = Object.keys(fields);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (stop !== undefined && stop.has(key)) return undefined;
      const text = this.#member(key, fields[key]);
      if (text !== undefined) out += this.#prefix(key) + text;
    }
    return out;
  }

  /** ` key=`, colored; memoized, since records mostly reuse a handful of keys. */
  #prefix(key: string): string {
    let prefix = this.#prefixes.get(key);
    if (prefix === undefined) {
      const name = `${prettyToken(fieldKey(key))}=`;
      prefix = ` ${this.#chalk ? this.#chalk.gray(name) : name}`;
      if (this.#prefixes.size < MAX_CACHED_KEYS) this.#prefixes.set(key, prefix);
    }
    return prefix;
  }

  #member(key: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (this.#redactor.isSensitive(key)) return REDACTED;
    switch (typeof value) {
      case 'string':
        return prettyToken(value);
      case 'number':
        return key === 'status' && this.#chalk ? this.#status(value) : String(value);
      case 'boolean':
      case 'bigint':
        return String(value);
      case 'symbol':
        return prettyToken(value.toString());
      case 'function':
        return undefined;
      default:
        if (value === null) return 'null';
        if (value instanceof Date)
          return prettyToken(Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString());
        return this.#values.member(key, value, 0, undefined);
    }
  }

  #status(status: number): string {
    const chalk = this.#chalk as ChalkInstance;
    const text = String(status);
    switch (Math.floor(status / 100)) {
      case 2:
        return chalk.green(text);
      case 3:
        return chalk.cyan(text);
      case 4:
        return chalk.yellow(text);
      case 5:
        return chalk.red(text);
      default:
        return text;
    }
  }
}

function plain(s: string): string {
  return s;
}

/**
 * A stack's head (`Name: message`, which may hold line breaks of its own) and its frame lines. The head
 * is found by the error's name and message when the stack starts with them, otherwise it ends before the
 * first `at` line; a stack without frames is all head.
 */
function splitStack(stack: string, name: string, message: string): [head: string, frames: string[]] {
  const expected = message === '' ? name : `${name}: ${message}`;
  const end =
    stack.startsWith(expected) && (stack.length === expected.length || stack[expected.length] === '\n')
      ? expected.length
      : stack.search(/\n\s*at /);
  if (end === -1) return [stack, []];
  const frames = stack
    .slice(end + 1)
    .split('\n')
    .filter((line) => line.trim() !== '');
  return [stack.slice(0, end), frames];
}
