import type { LogLevel } from './levels.js';
import type { LogFields } from './types.js';

/** A logger's bound fields, serialized once when the logger is created, not on every record. */
export interface BoundFields {
  /** Every bound field (the parent's, overridden by the child's). */
  readonly fields: LogFields;
  /** `fields` as the formatter renders them, ready to be appended after the message. */
  readonly fragment: string;
  /** `fragment` as UTF-8, for the JSON fast path (`json-bytes.ts`). */
  readonly fragmentBytes: Uint8Array;
  /** The keys of `fields`, or `undefined` when there are none. */
  readonly keys: ReadonlySet<string> | undefined;
}

/**
 * Turns one record into text, newline included: one line (the pretty format follows it with indented
 * lines for an error's stack). Implemented per format.
 */
export interface RecordFormatter {
  /** Renders bound fields once, for {@link BoundFields.fragment}. */
  bind(fields: LogFields): string;
  /**
   * The text of the record, written to the destination in one write. A call field with the same key as a bound field replaces it (the record
   * keeps one key, in the bound field's place).
   */
  format(
    now: number,
    level: LogLevel,
    msg: string,
    bound: BoundFields,
    fields: LogFields | undefined,
  ): string;
}

/** Bound fields of a logger that has none. */
export const NO_BOUND_FIELDS: BoundFields = Object.freeze({
  fields: Object.freeze({}),
  fragment: '',
  fragmentBytes: new Uint8Array(0),
  keys: undefined,
});

/**
 * `fields` rendered by `render`, which returns `undefined` when it meets a key in `stop`: in that case
 * (a call field overriding a bound one), the bound and call fields are merged and rendered together.
 */
export function renderFields(
  bound: BoundFields,
  fields: LogFields | undefined,
  render: (fields: LogFields, stop?: ReadonlySet<string>) => string | undefined,
): string {
  if (fields === undefined) return bound.fragment;
  const own = render(fields, bound.keys);
  if (own !== undefined) return bound.fragment + own;
  return render({ ...bound.fields, ...fields }) ?? '';
}
