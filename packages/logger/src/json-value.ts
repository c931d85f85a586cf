import { jsonString } from './escape.js';
import { REDACTED, type Redactor } from './redact.js';
import { isError, serializeError } from './serialize-error.js';

/** Field values nested deeper than this are written as `"[Object]"` / `"[Array]"`. */
export const MAX_DEPTH = 10;

/** Record keys that fields cannot take over: a field named like one is written as `field.<key>`. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['time', 'level', 'name', 'msg']);

/** The key a top-level field is written under: `time`, `level`, `name`, `msg` become `field.time`, .... */
export function fieldKey(key: string): string {
  return RESERVED_KEYS.has(key) ? `field.${key}` : key;
}

/** Top-level keys whose rendering is memoized, per logger tree (bounds memory if keys are unbounded). */
const MAX_CACHED_KEYS = 1024;

/** An error's stack, kept out of the JSON while a writer collects stacks (see {@link JsonValueWriter.collectStacks}). */
export interface LiftedStack {
  /** Where the error is in the record: `err`, `err.cause`, `err.errors[0]`, `failures[0]`, .... */
  readonly path: string;
  /** `err.name`, `err.message` and `err.stack`, as the record's JSON shows them. */
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}

export interface KeyPlan {
  /** `,"key":`, escaped, with a reserved key renamed. */
  readonly prefix: string;
  /** `prefix` as UTF-8, for the byte encoder (`json-bytes.ts`). */
  readonly prefixBytes: Uint8Array;
  /** Whether the value is redacted. */
  readonly redact: boolean;
}

const HeadersClass: (new () => object) | undefined = (globalThis as { Headers?: new () => object }).Headers;

/**
 * Serializes field values to JSON by hand, in one pass: redacts sensitive keys at any depth, escapes
 * every unsafe character (see `escape.ts`), turns errors into `{ name, message, code, cause, stack }`,
 * writes `"[Circular]"` for a cycle, and never throws for a value `JSON.stringify` would reject
 * (bigint, cycles). Differences from `JSON.stringify`: bigints are written as strings of digits,
 * `NaN`/`Infinity` as the strings `"NaN"`/`"Infinity"`, symbols as their description, a `Map` or a
 * fetch `Headers` as an object, a `Set` as an array.
 */
export class JsonValueWriter {
  readonly #redactor: Redactor;
  readonly #plans = new Map<string, KeyPlan>();
  /** Where errors' stacks go instead of into the JSON, while collecting (`undefined` otherwise). */
  #lifted: LiftedStack[] | undefined;
  /** Path of the value being written; kept up to date only while collecting stacks. */
  #path = '';

  constructor(redactor: Redactor) {
    this.#redactor = redactor;
  }

  /**
   * From now on, writes errors without their `stack` and appends the stacks to `into` (in the order the
   * errors are written), until called again with `undefined`.
   */
  collectStacks(into: LiftedStack[] | undefined): void {
    this.#lifted = into;
    this.#path = '';
  }

  /**
   * `,"key":value` for each own enumerable field whose value is not `undefined`; `undefined` (the whole
   * result) as soon as a key is in `stop`, so that the caller can merge and start again.
   */
  fields(fields: object, stop?: ReadonlySet<string>): string | undefined {
    let out = '';
    const keys = Object.keys(fields);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (stop !== undefined && stop.has(key)) return undefined;
      const value = (fields as Record<string, unknown>)[key];
      if (value === undefined) continue;
      const plan = this.plan(key);
      let json: string | undefined;
      if (plan.redact) json = `"${REDACTED}"`;
      else if (typeof value === 'string') json = jsonString(value);
      else if (typeof value === 'number') json = Number.isFinite(value) ? String(value) : `"${value}"`;
      else json = this.member(key, value, 0, undefined);
      if (json !== undefined) out += plan.prefix + json;
    }
    return out;
  }

  /** How a top-level key is written; memoized, since records mostly reuse a handful of keys. */
  plan(key: string): KeyPlan {
    let plan = this.#plans.get(key);
    if (plan === undefined) {
      const prefix = `,${jsonString(fieldKey(key))}:`;
      plan = { prefix, prefixBytes: Buffer.from(prefix, 'utf8'), redact: this.#redactor.isSensitive(key) };
      if (this.#plans.size < MAX_CACHED_KEYS) this.#plans.set(key, plan);
    }
    return plan;
  }

  /** The JSON of the value under `key`, redacted when the key is sensitive; `undefined` to omit it. */
  member(key: string, value: unknown, depth: number, ancestors: object[] | undefined): string | undefined {
    if (value === undefined) return undefined;
    if (this.#redactor.isSensitive(key)) return `"${REDACTED}"`;
    if (key === 'rawHeaders' && Array.isArray(value)) {
      return this.value(this.#redactor.redactRawHeaders(value), depth, ancestors);
    }
    if (this.#lifted !== undefined) return this.#valueAt(`.${key}`, value, depth, ancestors);
    return this.value(value, depth, ancestors);
  }

  /** {@link value} with {@link #path} extended by `step` (`.key` or `[i]`) while it is written. */
  #valueAt(step: string, value: unknown, depth: number, ancestors: object[] | undefined): string | undefined {
    const outer = this.#path;
    this.#path = outer === '' && step.startsWith('.') ? step.slice(1) : outer + step;
    try {
      return this.value(value, depth, ancestors);
    } finally {
      this.#path = outer;
    }
  }

  /** The JSON of any value, or `undefined` for `undefined` and functions (omitted, as JSON does). */
  value(value: unknown, depth: number, ancestors: object[] | undefined): string | undefined {
    switch (typeof value) {
      case 'string':
        return jsonString(value);
      case 'number':
        return Number.isFinite(value) ? String(value) : `"${value}"`;
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        return `"${value}"`;
      case 'symbol':
        return jsonString(value.toString());
      case 'undefined':
      case 'function':
        return undefined;
      default:
        return value === null ? 'null' : this.#object(value as object, depth, ancestors ?? []);
    }
  }

  #object(value: object, depth: number, ancestors: object[]): string {
    if (ancestors.includes(value)) return '"[Circular]"';
    if (depth >= MAX_DEPTH) return Array.isArray(value) ? '"[Array]"' : '"[Object]"';
    ancestors.push(value);
    try {
      return this.#objectBody(value, depth, ancestors);
    } finally {
      ancestors.pop();
    }
  }

  #objectBody(value: object, depth: number, ancestors: object[]): string {
    if (Array.isArray(value)) return this.#array(value, depth, ancestors);
    if (isError(value)) {
      const shape = serializeError(value);
      if (this.#lifted !== undefined && shape.stack !== undefined) {
        this.#lifted.push({ path: this.#path, name: shape.name, message: shape.message, stack: shape.stack });
        delete shape.stack;
      }
      return this.#members(Object.entries(shape), depth, ancestors);
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      return this.value(toJSON.call(value, '') as unknown, depth + 1, ancestors) ?? 'null';
    }
    if (value instanceof Map) {
      return this.#members(
        Array.from(value, ([k, v]: [unknown, unknown]) => [String(k), v]),
        depth,
        ancestors,
      );
    }
    if (value instanceof Set) return this.#array(Array.from(value), depth, ancestors);
    if (HeadersClass !== undefined && value instanceof HeadersClass) {
      return this.#members(Array.from(value as Iterable<[string, string]>), depth, ancestors);
    }
    let out = '{';
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const json = this.member(key, (value as Record<string, unknown>)[key], depth + 1, ancestors);
      if (json === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${jsonString(key)}:${json}`;
    }
    return `${out}}`;
  }

  #members(entries: readonly (readonly [string, unknown])[], depth: number, ancestors: object[]): string {
    let out = '{';
    for (const [key, v] of entries) {
      const json = this.member(key, v, depth + 1, ancestors);
      if (json === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${jsonString(key)}:${json}`;
    }
    return `${out}}`;
  }

  #array(items: readonly unknown[], depth: number, ancestors: object[]): string {
    let out = '[';
    for (let i = 0; i < items.length; i++) {
      const json =
        this.#lifted === undefined
          ? this.value(items[i], depth + 1, ancestors)
          : this.#valueAt(`[${i}]`, items[i], depth + 1, ancestors);
      out += `${i === 0 ? '' : ','}${json ?? 'null'}`;
    }
    return `${out}]`;
  }
}
