// Which young-generation size the cluster workers get: ours, unless the primary's options or
// NODE_OPTIONS already size it (in any spelling V8 takes).
import { describe, expect, it } from 'vitest';
import { SEMI_SPACE_OPTION, sizesYoungGeneration, workerExecArgv } from '../../src/young-generation.js';

describe('workerExecArgv', () => {
  it("adds the 2 MiB semi-space to the primary's own options", () => {
    expect(SEMI_SPACE_OPTION).toBe('--max-semi-space-size=2');
    expect(workerExecArgv([], undefined)).toEqual(['--max-semi-space-size=2']);
    expect(workerExecArgv(['--enable-source-maps'], '--no-warnings')).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=2',
    ]);
  });

  it('keeps a size the user gave, on the command line or in NODE_OPTIONS', () => {
    expect(workerExecArgv(['--max-semi-space-size=16'], undefined)).toEqual(['--max-semi-space-size=16']);
    expect(workerExecArgv([], '--no-warnings  --max_semi_space_size=8')).toEqual([]);
    expect(workerExecArgv(['--trace-gc'], '--max-young-generation-size=24')).toEqual(['--trace-gc']);
  });

  it('returns a new array, leaving the primary execArgv untouched', () => {
    const primary = ['--trace-gc'];
    const argv = workerExecArgv(primary, undefined);
    expect(argv).not.toBe(primary);
    expect(primary).toEqual(['--trace-gc']);
  });
});

describe('sizesYoungGeneration', () => {
  it.each([
    '--max-semi-space-size=4',
    '--max_semi_space_size=4',
    '--semi-space-size=4',
    '--min-semi-space-size=1',
    '--max-young-generation-size=48',
    '--max-semi-space-size',
  ])('%s sizes it', (option) => {
    expect(sizesYoungGeneration([option])).toBe(true);
  });

  it.each([
    '--max-old-space-size=512',
    '--semi-space-growth-factor=2',
    '--trace-gc',
    '',
    'max-semi-space-size=2',
  ])('%s does not', (option) => {
    expect(sizesYoungGeneration([option])).toBe(false);
  });
});
