#!/usr/bin/env node
// Rewrites the options table of each app's README from the app's option table (src/option-table.ts),
// between the `<!-- options table: ... -->` and `<!-- end of options table -->` lines. Each app's
// options test fails when its README and its table disagree; run this to bring them together again:
//
//   node apps/proxy/scripts/options-readme.mjs            # apps/proxy and apps/echo
//   node apps/proxy/scripts/options-readme.mjs apps/echo  # only the apps named (directories)
//   node apps/proxy/scripts/options-readme.mjs --check    # exit 1 if a README is out of date, change nothing
//
// The table is TypeScript: the app's src/options.ts is bundled with tsup into a temporary directory and
// imported from there, so nothing needs to be built first.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'tsup';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const named = args.filter((a) => a !== '--check');
const apps =
  named.length > 0 ? named.map((a) => resolve(a)) : [join(root, 'apps/proxy'), join(root, 'apps/echo')];

/** Bundles the app's options module (and the README helpers of @roundguard/cli-options) and imports it. */
async function loadOptions(appDir, outDir) {
  const entry = join(outDir, 'entry.ts');
  const src = join(appDir, 'src');
  await writeFile(
    entry,
    `export { optionsReadmeTable } from ${JSON.stringify(join(src, 'options.ts'))};\n` +
      `export { withTable } from ${JSON.stringify(join(root, 'packages/cli-options/src/index.ts'))};\n`,
  );
  await build({
    entry: { options: entry },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    config: false,
    silent: true,
    dts: false,
    sourcemap: false,
    clean: false,
  });
  return import(pathToFileURL(join(outDir, 'options.js')).href);
}

let stale = 0;
for (const appDir of apps) {
  const outDir = await mkdtemp(join(tmpdir(), 'options-readme-'));
  try {
    const { optionsReadmeTable, withTable } = await loadOptions(appDir, outDir);
    const file = join(appDir, 'README.md');
    const before = await readFile(file, 'utf8');
    const after = withTable(before, optionsReadmeTable());
    if (after === before) {
      console.log(`${file}: up to date`);
    } else if (check) {
      console.log(`${file}: out of date`);
      stale++;
    } else {
      await writeFile(file, after);
      console.log(`${file}: options table rewritten`);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
if (stale > 0) process.exitCode = 1;
