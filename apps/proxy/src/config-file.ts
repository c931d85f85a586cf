// The JSON config file (--config): read at start, and read again on SIGHUP for its upstreams.
import { readFileSync } from 'node:fs';
import { fromFile, OptionProblem, type FileValues } from '@roundguard/cli-options';
import { PROXY_OPTIONS } from './option-table.js';
import type { UpstreamConfig } from './upstream-option.js';

const FILE_KEYS = PROXY_OPTIONS.filter((row) => row.inFile !== false).map((row) => row.key as string);
const UPSTREAMS = PROXY_OPTIONS.find((row) => row.key === 'upstreams')!;

/**
 * Reads a JSON config file: an object whose keys are the options' config keys. Values are checked when
 * an option is resolved (a flag or environment variable may override a bad one).
 * @throws {OptionProblem} when the file cannot be read, is not a JSON object, or has an unknown key
 */
export function readConfigFile(file: string): FileValues {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new OptionProblem(`cannot read config file ${JSON.stringify(file)}: ${reason}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new OptionProblem(
      `config file ${JSON.stringify(file)} is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new OptionProblem(`config file ${JSON.stringify(file)} must hold a JSON object`);
  const values = new Map<string, unknown>(Object.entries(data));
  for (const key of values.keys()) {
    if (!FILE_KEYS.includes(key))
      throw new OptionProblem(
        `${file}: unknown key ${JSON.stringify(key)} (expected one of ${FILE_KEYS.join(', ')})`,
      );
  }
  // `"host": "::1"` reads as `"host": ["::1"]`: one listen address is the usual case.
  const host = values.get('host');
  if (typeof host === 'string') values.set('host', [host]);
  return { file, values };
}

/** The upstreams of a read config file (none when it has no `upstreams`). */
export function upstreamsOf(config: FileValues): UpstreamConfig[] {
  if (!config.values.has('upstreams')) return [];
  return fromFile(UPSTREAMS, config.values.get('upstreams'), config.file) as UpstreamConfig[];
}

/**
 * Reads the config file again for SIGHUP: only its upstreams (with their weights) are taken.
 * @throws {OptionProblem} when the file or its upstreams are bad, or it lists none
 */
export function rereadUpstreams(file: string): UpstreamConfig[] {
  const upstreams = upstreamsOf(readConfigFile(file));
  if (upstreams.length === 0) throw new OptionProblem(`no upstream in config file ${JSON.stringify(file)}`);
  return upstreams;
}
