import { isoTime } from './clock.js';
import { jsonString } from './escape.js';
import { JsonRecordEncoder } from './json-bytes.js';
import { JsonValueWriter } from './json-value.js';
import type { LogLevel } from './levels.js';
import { renderFields, type BoundFields, type RecordFormatter } from './record-formatter.js';
import type { Redactor } from './redact.js';
import type { LogFields } from './types.js';

/**
 * JSON lines: `{"time":"2026-11-25T22:10:00.123Z","level":"info","name":"proxy","msg":"...",...}` and a
 * `\n`. Keys come in that order, then the bound fields, then the call's fields. Every string is escaped
 * so that a record is always exactly one physical line.
 */
export class JsonFormatter implements RecordFormatter {
  readonly #values: JsonValueWriter;
  /** Per level: what follows the time, up to and including `"msg":`. */
  readonly #heads: Readonly<Record<LogLevel, string>>;
  readonly #render: (fields: LogFields, stop?: ReadonlySet<string>) => string | undefined;

  constructor(name: string | undefined, redactor: Redactor) {
    const values = new JsonValueWriter(redactor);
    const named = name === undefined ? '' : `,"name":${jsonString(name)}`;
    const head = (level: LogLevel): string => `","level":"${level}"${named},"msg":`;
    this.#values = values;
    this.#heads = { error: head('error'), warn: head('warn'), info: head('info'), debug: head('debug') };
    this.#render = (fields, stop) => values.fields(fields, stop);
  }

  bind(fields: LogFields): string {
    return this.#values.fields(fields) ?? '';
  }

  /** An encoder that writes this formatter's records as bytes (see `json-bytes.ts`). */
  byteEncoder(): JsonRecordEncoder {
    return new JsonRecordEncoder(this.#heads, this.#values);
  }

  format(
    now: number,
    level: LogLevel,
    msg: string,
    bound: BoundFields,
    fields: LogFields | undefined,
  ): string {
    return `{"time":"${isoTime(now)}${this.#heads[level]}${jsonString(msg)}${renderFields(bound, fields, this.#render)}}\n`;
  }
}
