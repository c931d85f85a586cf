// A small parser of the Prometheus text exposition format (version 0.0.4), written for the tests so they
// assert on samples, not on prom-client's exact spacing or ordering.

export interface Exposition {
  /** `name{a="1",b="2"}` (labels sorted by name, values re-escaped) → value. */
  readonly samples: ReadonlyMap<string, number>;
  /** Metric family name → type from its `# TYPE` line. */
  readonly types: ReadonlyMap<string, string>;
  /** Metric family name → text of its `# HELP` line. */
  readonly help: ReadonlyMap<string, string>;
}

/** Canonical key of a sample: `name{a="1",b="2"}` with labels sorted by name; `name` without labels. */
export function key(name: string, labels: Record<string, string> = {}): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  return `${name}{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',')}}`;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN' || text === 'Nan') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n))
    throw new Error(`bad sample value ${JSON.stringify(text)} in line ${JSON.stringify(line)}`);
  return n;
}

/** Parses the exposition; throws on any line it does not understand or on a duplicate sample. */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (m === null) throw new Error(`bad comment line ${JSON.stringify(line)}`);
      (m[1] === 'HELP' ? help : types).set(m[2]!, m[3]!);
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (nameMatch === null) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const name = nameMatch[0];
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
        if (lm === null) throw new Error(`bad label at ${i} in ${JSON.stringify(line)}`);
        i += lm[0].length;
        let value = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
          i++;
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e}`;
          } else value += c;
        }
        if (lm[1]! in labels) throw new Error(`duplicate label ${lm[1]} in ${JSON.stringify(line)}`);
        labels[lm[1]!] = value;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`bad label separator in ${JSON.stringify(line)}`);
      }
      i++;
    }
    if (line[i] !== ' ') throw new Error(`missing value in ${JSON.stringify(line)}`);
    const rest = line.slice(i + 1).split(' ');
    if (rest.length > 2) throw new Error(`extra fields in ${JSON.stringify(line)}`);
    const k = key(name, labels);
    if (samples.has(k)) throw new Error(`duplicate sample ${k}`);
    samples.set(k, parseValue(rest[0]!, line));
  }
  return { samples, types, help };
}

/** Samples whose metric name starts with `prefix`, as a plain object (for `toEqual` on the exact set). */
export function samplesWithPrefix(exposition: Exposition, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of exposition.samples) if (k.startsWith(prefix)) out[k] = v;
  return out;
}

/**
 * The samples of one histogram series: `_bucket` for each bound (cumulative) and `+Inf`, `_sum`, `_count`.
 * `counts` are the expected cumulative bucket counts, one per bound.
 */
export function histogramSamples(
  name: string,
  labels: Record<string, string>,
  bounds: readonly number[],
  counts: readonly number[],
  count: number,
  sum: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  bounds.forEach((b, i) => {
    out[key(`${name}_bucket`, { ...labels, le: String(b) })] = counts[i]!;
  });
  out[key(`${name}_bucket`, { ...labels, le: '+Inf' })] = count;
  out[key(`${name}_sum`, labels)] = sum;
  out[key(`${name}_count`, labels)] = count;
  return out;
}
