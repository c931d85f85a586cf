// Reusable "publishable, proven" check shared by every library's tests.
//
// It packs a workspace library with `pnpm pack` (plus the workspace libraries it depends on), installs the
// tarballs with npm into a scratch project outside the workspace, and there runs:
//   - an ES module importing the package (`node consumer.mjs`),
//   - a CommonJS script requiring it (`node consumer.cjs`),
//   - `tsc --noEmit` on TypeScript consumers with `moduleResolution` node16 (ESM and CJS files) and bundler.
// Any failure throws with the failing command's output.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

async function exec(cmd, args, cwd) {
  try {
    return await run(cmd, args, {
      cwd,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, npm_config_loglevel: 'error' },
    });
  } catch (err) {
    const e = /** @type {any} */ (err);
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

async function readManifest(dir) {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
}

/** Workspace libraries (by directory) that `dir` depends on through `workspace:` ranges, transitively. */
async function workspaceClosure(dir, seen = new Map()) {
  const manifest = await readManifest(dir);
  if (seen.has(manifest.name)) return seen;
  seen.set(manifest.name, dir);
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (typeof range === 'string' && range.startsWith('workspace:')) {
      await workspaceClosure(join(root, 'packages', name.replace(/^@roundguard\//, '')), seen);
    }
  }
  return seen;
}

/**
 * @param {object} options
 * @param {string} options.packageDir absolute path of the library to check
 * @param {string} options.esm   body of consumer.mjs (must import the package and throw on a wrong result)
 * @param {string} options.cjs   body of consumer.cjs (must require the package and throw on a wrong result)
 * @param {string} options.ts    body of a TypeScript consumer (type-checked, not run)
 * @returns {Promise<{ scratch: string; tarballs: string[] }>}
 */
export async function verifyPackedPackage({ packageDir, esm, cjs, ts }) {
  const scratch = await mkdtemp(join(tmpdir(), 'roundguard-pack-'));
  try {
    const packDir = join(scratch, 'tarballs');
    await mkdir(packDir);
    const closure = await workspaceClosure(packageDir);
    const tarballs = [];
    for (const dir of closure.values()) {
      const { stdout } = await exec('pnpm', ['pack', '--pack-destination', packDir], dir);
      const tgz = stdout
        .trim()
        .split('\n')
        .filter((l) => l.endsWith('.tgz'))
        .pop();
      if (!tgz) throw new Error(`pnpm pack printed no tarball name for ${dir}:\n${stdout}`);
      tarballs.push(resolve(dir, tgz));
    }
    const project = join(scratch, 'consumer');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }),
    );
    await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--no-package-lock', ...tarballs, '@types/node@20'],
      project,
    );

    await writeFile(join(project, 'consumer.mjs'), esm);
    await writeFile(join(project, 'consumer.cjs'), cjs);
    await exec(process.execPath, ['consumer.mjs'], project);
    await exec(process.execPath, ['consumer.cjs'], project);

    await writeFile(join(project, 'consumer-esm.mts'), ts);
    await writeFile(join(project, 'consumer-cjs.cts'), ts);
    await writeFile(join(project, 'consumer-bundler.ts'), ts);
    const common = { strict: true, noEmit: true, target: 'ES2022', types: ['node'], skipLibCheck: false };
    await writeFile(
      join(project, 'tsconfig.node16.json'),
      JSON.stringify({
        compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' },
        files: ['consumer-esm.mts', 'consumer-cjs.cts'],
      }),
    );
    await writeFile(
      join(project, 'tsconfig.bundler.json'),
      JSON.stringify({
        compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' },
        files: ['consumer-bundler.ts'],
      }),
    );
    await exec(process.execPath, [tsc, '-p', 'tsconfig.node16.json'], project);
    await exec(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], project);
    return { scratch, tarballs };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
