// The values an option table reads, and how a parse function says one is bad. Parse functions take a
// command-line or environment string (`text`) or a config-file JSON value (`json`).
import { availableParallelism } from 'node:os';

/** Where a value comes from: a command-line or environment string, or a JSON value of a config file. */
export type Origin = 'text' | 'json';

/**
 * Reads one value. A `text` value is always a string; a `json` value is whatever the config file holds
 * and must already have the right JSON type (the string `"80"` is not a port there).
 * @throws {InvalidValue} when the value is not acceptable
 */
export type Parse<V> = (value: unknown, origin: Origin) => V;

/** Thrown by a {@link Parse} function; the table adds where the value came from. */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
  /**
   * @param expected what a good value is, e.g. `an integer from 0 to 65535`
   * @param detail `path` and `got`: the part of a structured value that is wrong (`.weight`, `2.5`);
   *   `problem`: a whole description that replaces "expected ..." (`unknown key "x"`)
   */
  constructor(
    readonly expected: string,
    readonly detail: { readonly path?: string; readonly got?: unknown; readonly problem?: string } = {},
  ) {
    super(detail.problem ?? `expected ${expected}`);
  }
}

/** A JSON value as an error shows it: `2.5 (number)`, `"80" (string)`, `[...] (array)`. */
export function describeJson(value: unknown, secret = false): string {
  if (value === null) return 'null';
  const type = Array.isArray(value) ? 'array' : typeof value;
  if (secret) return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} (value hidden)`;
  if (type === 'array') return '[...] (array)';
  if (type === 'object') return '{...} (object)';
  const text = JSON.stringify(value) ?? typeof value;
  return `${text.length > 80 ? `${text.slice(0, 77)}...` : text} (${type})`;
}

/** An integer option value from `min` to `max`: digits on the command line, a JSON number in a file. */
export function integer(
  min: number,
  max: number,
  expected = `an integer from ${min} to ${max}`,
): Parse<number> {
  return (value, origin) => {
    const n =
      origin === 'text'
        ? typeof value === 'string' && /^[0-9]{1,16}$/.test(value)
          ? Number(value)
          : NaN
        : typeof value === 'number' && Number.isInteger(value)
          ? value
          : NaN;
    if (!(n >= min && n <= max)) throw new InvalidValue(expected);
    return n;
  };
}

/** A string option value that `accept` approves (a string in a config file too). */
export function text<V extends string = string>(expected: string, accept: (s: string) => boolean): Parse<V> {
  return (value) => {
    if (typeof value !== 'string' || !accept(value)) throw new InvalidValue(expected);
    return value as V;
  };
}

/** One of a fixed set of words. */
export function oneOf<V extends string>(
  values: readonly V[],
  expected = `one of ${values.join(', ')}`,
): Parse<V> {
  return text<V>(expected, (s) => (values as readonly string[]).includes(s));
}

/**
 * A count from 1 to `max`, or `auto`: one per CPU this process may use (`os.availableParallelism()`),
 * at most `max`.
 */
export function countOrAuto(max: number): Parse<number> {
  const count = integer(1, max, `an integer from 1 to ${max}, or auto`);
  return (value, origin) =>
    value === 'auto' ? Math.min(max, Math.max(1, availableParallelism())) : count(value, origin);
}
