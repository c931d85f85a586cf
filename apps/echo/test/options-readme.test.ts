import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tableOf } from '@roundguard/cli-options';
import { ECHO_OPTIONS, optionsReadmeTable } from '../src/options.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the README options table', () => {
  it('is the one rendered from the option table (else: node apps/proxy/scripts/options-readme.mjs)', () => {
    expect(tableOf(readme)).toBe(optionsReadmeTable());
  });

  it('has one line per option, with its flag, variable and default', () => {
    const lines = (tableOf(readme) ?? '').split('\n');
    for (const row of ECHO_OPTIONS) {
      const line = lines.find((l) => l.startsWith(`| \`${row.flag} `));
      expect(line, row.flag).toBeDefined();
      if (row.env !== undefined) expect(line).toContain(`\`${row.env}\``);
    }
    expect(lines.find((l) => l.startsWith('| `--max-body BYTES` |'))).toContain('| `1048576` |');
  });
});
