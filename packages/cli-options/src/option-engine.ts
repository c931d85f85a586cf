// The engine of a declarative option table: one row per option (flag, environment variable, config-file
// key, default, parse function, help text, placeholder). The command line, the environment and a config
// file are read from the rows (parse functions in option-values.ts), and --help and the README table are
// rendered from them (option-docs.ts), so adding an option is adding a row. Nothing here is app-specific.
import { parseArgs } from 'node:util';
import { describeJson, InvalidValue, type Parse } from './option-values.js';

/** A bad option value or command line: the message is one line, meant for the user. */
export class OptionProblem extends Error {
  override readonly name = 'OptionProblem';
}

interface OptionRow<K extends string> {
  /** camelCase name: the key of the resolved value and of the config file. */
  readonly key: K;
  /** `--kebab-case` command-line flag; it takes a value as `--flag value` or `--flag=value`. */
  readonly flag: `--${string}`;
  /** What the value looks like in --help and the docs: `N`, `MS`, `ADDR`, `FILE`, `URL`, `json|pretty`. */
  readonly placeholder: string;
  /** Environment variable; an empty one counts as unset. */
  readonly env?: string;
  /** Whether a config file may set it (tables read without a config file ignore this). Default true. */
  readonly inFile?: boolean;
  /**
   * How the default reads in --help and the docs, when the value alone would not say it. Markdown: its
   * `code` spans are printed plain in --help.
   */
  readonly defaultText?: string;
  /** Never printed back: errors say `(value hidden)` instead of showing what was given. */
  readonly secret?: boolean;
  /** One line for --help. */
  readonly help: string;
  /** The README's "meaning" cell, when it says more than {@link help}. */
  readonly doc?: string;
}

/** The row of an option with one value; a repeated flag keeps the last one. */
export interface SingleOptionRow<K extends string, V> extends OptionRow<K> {
  readonly default: V;
  readonly parse: Parse<V>;
}

/** The row of a repeatable option: each flag adds an item; its variable is a comma-separated list. */
export interface ListOptionRow<K extends string, E> extends OptionRow<K> {
  readonly default: readonly E[];
  /** Reads one item. */
  readonly parse: Parse<E>;
  /** Checks the whole list (e.g. for duplicates): the index of the bad item and what is wrong with it. */
  check?(items: readonly E[]): { readonly index: number; readonly problem: string } | undefined;
}

export interface SingleOption<K extends string = string, V = unknown> extends SingleOptionRow<K, V> {
  readonly kind: 'single';
}

export interface ListOption<K extends string = string, E = unknown> extends ListOptionRow<K, E> {
  readonly kind: 'list';
}

export type AnyOption = SingleOption | ListOption;

/** Defines an option with one value. */
export function option<K extends string, const V>(row: SingleOptionRow<K, V>): SingleOption<K, V> {
  return { ...row, kind: 'single' };
}

/** Defines a repeatable option. */
export function listOption<K extends string, E>(row: ListOptionRow<K, E>): ListOption<K, E> {
  return { ...row, kind: 'list' };
}

type ValueOf<O> =
  O extends SingleOption<string, infer V> ? V : O extends ListOption<string, infer E> ? readonly E[] : never;

/** The resolved values of a table, keyed by each option's `key`. */
export type Values<T extends readonly AnyOption[]> = { -readonly [O in T[number] as O['key']]: ValueOf<O> };

/** Where a resolved value came from. */
export type Source = 'flag' | 'env' | 'file' | 'default';

/** What the command line says: the values of its flags, or a request for help or the version. */
export interface CommandLine {
  readonly action: 'help' | 'version' | undefined;
  /** Parsed flag values by option key (lists hold every item in order). */
  readonly flags: ReadonlyMap<string, unknown>;
}

/** A config file's raw values by key (keys already checked against the table), and its name for messages. */
export interface FileValues {
  readonly file: string;
  readonly values: ReadonlyMap<string, unknown>;
}

const HELP_FLAGS = new Set(['--help', '-h']);
const VERSION_FLAG = '--version';

/** `"value"`, or `(value hidden)` for a secret. */
function shown(row: OptionRow<string>, raw: string): string {
  return row.secret === true ? '(value hidden)' : JSON.stringify(raw);
}

function textError(row: OptionRow<string>, label: string, raw: string, err: unknown): never {
  if (!(err instanceof InvalidValue)) throw err;
  const where = `${label}${err.detail.path ?? ''}`;
  throw new OptionProblem(`invalid ${where} ${shown(row, raw)}: ${err.message}`);
}

function jsonError(row: OptionRow<string>, where: string, value: unknown, err: unknown): never {
  if (!(err instanceof InvalidValue)) throw err;
  const got = 'got' in err.detail ? err.detail.got : value;
  const text = err.detail.problem ?? `expected ${err.expected}, got ${describeJson(got, row.secret)}`;
  throw new OptionProblem(`${where}${err.detail.path ?? ''}: ${text}`);
}

function parseText<V>(row: OptionRow<string>, parse: Parse<V>, label: string, raw: string): V {
  try {
    return parse(raw, 'text');
  } catch (err) {
    return textError(row, label, raw, err);
  }
}

function checkList(row: ListOption, items: readonly unknown[], where: (index: number) => string): void {
  const bad = row.check?.(items);
  if (bad !== undefined) throw new OptionProblem(`${where(bad.index)}: ${bad.problem}`);
}

/**
 * Reads the command line with `node:util` parseArgs: `--flag value`, `--flag=value`, `-h`/`--help`,
 * `--version`. Values are parsed at once, in order, so the first bad one is the one reported; a help or
 * version flag before it wins.
 * @throws {OptionProblem} for an unknown flag, a stray argument, a missing or bad value
 */
export function readCommandLine(table: readonly AnyOption[], argv: readonly string[]): CommandLine {
  const byFlag = new Map(table.map((row) => [row.flag.slice(2), row]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(table.map((row) => [row.flag.slice(2), { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, unknown>();
  const lists = new Map<string, unknown[]>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional')
      throw new OptionProblem(`unexpected argument ${JSON.stringify(token.value)} (see --help)`);
    const { rawName } = token;
    if (HELP_FLAGS.has(rawName) || rawName === VERSION_FLAG) {
      if (token.value !== undefined) throw new OptionProblem(`${rawName} does not take a value`);
      return { action: rawName === VERSION_FLAG ? 'version' : 'help', flags };
    }
    const row = rawName.startsWith('--') ? byFlag.get(token.name) : undefined;
    // Named without the value written with it: `--admin-tokn=...` may hold a secret.
    if (row === undefined) throw new OptionProblem(`unknown option ${JSON.stringify(rawName)} (see --help)`);
    const raw = token.value;
    // `--port --host x`: a value that looks like a flag is a forgotten value, unless written `--port=--x`.
    if (raw === undefined || (!token.inlineValue && raw.startsWith('--') && raw.length > 2))
      throw new OptionProblem(`missing value for ${rawName}`);
    const value = parseText(row, row.parse, rawName, raw);
    if (row.kind === 'single') flags.set(row.key, value);
    else {
      const items = lists.get(row.key) ?? [];
      items.push(value);
      lists.set(row.key, items);
    }
  }
  for (const [key, items] of lists) {
    const row = table.find((r) => r.key === key) as ListOption;
    checkList(row, items, () => row.flag);
    flags.set(key, items);
  }
  return { action: undefined, flags };
}

function fromEnv(row: AnyOption, raw: string): unknown {
  const name = row.env as string;
  if (row.kind === 'single') return parseText(row, row.parse, name, raw);
  const parts = raw.split(',').map((part) => part.trim());
  const items = parts.map((part, i) =>
    parseText(row, row.parse, parts.length > 1 ? `${name}[${i}]` : name, part),
  );
  checkList(row, items, () => name);
  return items;
}

/**
 * Reads one config-file value of an option.
 * @throws {OptionProblem} naming the file, the key (with the index and field inside it) and what was found
 */
export function fromFile(row: AnyOption, value: unknown, file: string): unknown {
  const where = `${file}: ${row.key}`;
  if (row.kind === 'single') {
    try {
      return row.parse(value, 'json');
    } catch (err) {
      return jsonError(row, where, value, err);
    }
  }
  if (!Array.isArray(value)) {
    const problem = `expected a JSON array, got ${describeJson(value, row.secret)}`;
    throw new OptionProblem(`${where}: ${problem}`);
  }
  const items = value.map((item: unknown, i) => {
    try {
      return row.parse(item, 'json');
    } catch (err) {
      return jsonError(row, `${where}[${i}]`, item, err);
    }
  });
  checkList(row, items, (i) => `${where}[${i}]`);
  return items;
}

/** The environment value of an option; undefined when unset or empty (or only spaces, for a list). */
function envValue(row: AnyOption, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const raw = row.env === undefined ? undefined : env[row.env];
  if (raw === undefined || raw === '' || (row.kind === 'list' && raw.trim() === '')) return undefined;
  return raw;
}

/** Resolves one option: flag > environment > config file > default. */
export function resolveOption(
  row: AnyOption,
  commandLine: CommandLine,
  env: Readonly<Record<string, string | undefined>>,
  file?: FileValues,
): { value: unknown; source: Source } {
  if (commandLine.flags.has(row.key)) return { value: commandLine.flags.get(row.key), source: 'flag' };
  const raw = envValue(row, env);
  if (raw !== undefined) return { value: fromEnv(row, raw), source: 'env' };
  if (file !== undefined && row.inFile !== false && file.values.has(row.key))
    return { value: fromFile(row, file.values.get(row.key), file.file), source: 'file' };
  return { value: row.default, source: 'default' };
}

/**
 * Resolves every option of a table: flag > environment > config file > default.
 * @throws {OptionProblem} for the first bad environment or config-file value
 */
export function resolveOptions<T extends readonly AnyOption[]>(
  table: T,
  commandLine: CommandLine,
  env: Readonly<Record<string, string | undefined>>,
  file?: FileValues,
): { values: Values<T>; sources: Record<T[number]['key'], Source> } {
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const row of table) {
    const { value, source } = resolveOption(row, commandLine, env, file);
    values[row.key] = value;
    sources[row.key] = source;
  }
  return { values: values as Values<T>, sources };
}

/** The default of every option, keyed like the resolved values. */
export function defaultsOf<T extends readonly AnyOption[]>(table: T): Values<T> {
  return Object.fromEntries(table.map((row) => [row.key, row.default])) as Values<T>;
}
