// What the option table (option-engine.ts) tells users: the --help text and the README's options table.
// Both are rendered from the rows, so they cannot disagree with what is parsed.
import type { AnyOption } from './option-engine.js';

/** The parts of --help that are not rows. */
export interface HelpText {
  /** First line, e.g. `Usage: roundguard [options]`. */
  readonly usage: string;
  /** A paragraph after the usage line. */
  readonly intro?: string;
  /** Which source wins, e.g. `flag > env > config file > default`. */
  readonly precedence: string;
  /** A paragraph after the options. */
  readonly footer?: string;
}

/** The flags every table has; readCommandLine answers them. */
const BUILT_IN = [
  { names: '-h, --help', help: 'print this help and exit' },
  { names: '--version', help: 'print the version and exit' },
] as const;

/** The default as a word (`8080`), or the row's own wording of it (Markdown); undefined when it has none. */
function defaultOf(row: AnyOption): string | undefined {
  if (row.defaultText !== undefined) return row.defaultText;
  const value: unknown = row.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  const word = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  return Array.isArray(value) ? value.map(word).join(', ') : word(value);
}

/** The --help text: one line per option with its placeholder, default and environment variable. */
export function renderHelp(table: readonly AnyOption[], text: HelpText): string {
  const left = table.map((row) => `${row.flag} ${row.placeholder}`);
  const width = Math.max(...left.map((l) => l.length), ...BUILT_IN.map((b) => b.names.length)) + 2;
  const lines = [text.usage, ''];
  if (text.intro !== undefined) lines.push(text.intro, '');
  lines.push(`Options (${text.precedence}):`);
  table.forEach((row, i) => {
    const notes: string[] = [];
    if (row.kind === 'list') notes.push('repeatable');
    const fallback = defaultOf(row)?.replaceAll('`', '');
    if (fallback !== undefined) notes.push(`default ${fallback}`);
    if (row.env !== undefined) notes.push(`env ${row.env}${row.kind === 'list' ? ', comma-separated' : ''}`);
    const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    lines.push(`  ${(left[i] as string).padEnd(width)}${row.help}${suffix}`);
  });
  for (const b of BUILT_IN) lines.push(`  ${b.names.padEnd(width)}${b.help}`);
  if (text.footer !== undefined) lines.push('', text.footer);
  return lines.join('\n');
}

const cell = (s: string): string => s.replaceAll('|', '\\|');
const code = (s: string): string => `\`${s}\``;

/**
 * The README's options table (Markdown), with a `config key` column when the app reads a config file.
 * Cells are not padded: adding an option changes one line of the README, not all of them.
 */
export function renderMarkdownTable(table: readonly AnyOption[], options: { configKeys: boolean }): string {
  const header = ['option', 'env', ...(options.configKeys ? ['config key'] : []), 'default', 'meaning'];
  const rows = table.map((row) => {
    const list = row.kind === 'list';
    const fallback = defaultOf(row);
    return [
      `${code(`${row.flag} ${row.placeholder}`)}${list ? ' (repeatable)' : ''}`,
      row.env === undefined ? '' : `${code(row.env)}${list ? ' (comma-separated)' : ''}`,
      ...(options.configKeys ? [row.inFile === false ? '' : code(row.key)] : []),
      fallback === undefined ? 'none' : row.defaultText !== undefined ? fallback : code(fallback),
      row.doc ?? row.help,
    ];
  });
  for (const b of BUILT_IN) {
    const names = b.names.split(', ').map(code).join(', ');
    rows.push([names, '', ...(options.configKeys ? [''] : []), '', b.help]);
  }
  const line = (r: readonly string[]) => `| ${r.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** The comment lines that enclose the generated table in a README. */
export const TABLE_START =
  '<!-- options table: generated from src/option-table.ts, do not edit (see options-readme.mjs) -->';
export const TABLE_END = '<!-- end of options table -->';

/** The generated table of a README (between the markers), or undefined when it has none. */
export function tableOf(readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + TABLE_START.length, end).trim();
}

/** The README with its generated table replaced. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`no ${TABLE_START} ... ${TABLE_END} block to replace`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
