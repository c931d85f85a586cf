import { Writable } from 'node:stream';

/** A destination that keeps everything written to it (pino's `sink()` idea), with readers for tests. */
export interface Sink {
  readonly stream: Writable;
  /** Every `write()` chunk, as text, in order. */
  readonly chunks: string[];
  /** Everything written, as text. */
  text(): string;
  /** The lines written (the text split on `\n`, without the empty string after the last one). */
  lines(): string[];
  /** Each line parsed as JSON. */
  records(): Record<string, unknown>[];
}

export function sink(options: { isTTY?: boolean; highWaterMark?: number; delayMs?: number } = {}): Sink {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      if (options.delayMs === undefined) callback();
      else setTimeout(callback, options.delayMs);
    },
  });
  if (options.isTTY !== undefined) Object.assign(stream, { isTTY: options.isTTY });
  const text = (): string => chunks.join('');
  const lines = (): string[] => {
    const all = text();
    if (all === '') return [];
    if (!all.endsWith('\n')) throw new Error(`output does not end with a newline: ${JSON.stringify(all)}`);
    return all.slice(0, -1).split('\n');
  };
  return {
    stream,
    chunks,
    text,
    lines,
    records: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The one JSON record written to `s`; fails when there is not exactly one. */
export function only(s: Sink): Record<string, unknown> {
  const records = s.records();
  if (records.length !== 1) throw new Error(`expected exactly 1 record, got ${records.length}: ${s.text()}`);
  return records[0] as Record<string, unknown>;
}

/** The one line written to `s`, without its newline; fails when there is not exactly one. */
export function onlyLine(s: Sink): string {
  const lines = s.lines();
  if (lines.length !== 1)
    throw new Error(`expected exactly 1 line, got ${lines.length}: ${JSON.stringify(s.text())}`);
  return lines[0] as string;
}

/** An ANSI escape sequence (SGR), as chalk writes them. */
// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[\d+(;\d+)*m/;

export function stripAnsi(s: string): string {
  return s.replace(new RegExp(ANSI.source, 'g'), '');
}
