// Reusable "publishable, proven" check shared by every library's tests.
//
// It packs a workspace library with `pnpm pack` (plus the workspace libraries it depends on), checks what
// each tarball holds (see checkTarball), installs the tarballs with npm into a scratch project outside the
// workspace, and there runs:
//   - an ES module importing the package (`node consumer.mjs`),
//   - a CommonJS script requiring it (`node consumer.cjs`),
//   - `tsc --noEmit` on TypeScript consumers with `moduleResolution` node16 (ESM and CJS files) and bundler.
// Any failure throws with the failing command's output.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

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

/** The files of a `.tgz` made by `pnpm pack`, by path below `package/`, as buffers (regular files only). */
export async function readTarball(file) {
  const tar = gunzipSync(await readFile(file));
  const files = new Map();
  const text = (from, length) => tar.toString('utf8', from, from + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length;) {
    const name = text(at, 100);
    if (name === '') break;
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = text(at + 156, 1);
    const prefix = text(at + 345, 155);
    const path = prefix ? `${prefix}/${name}` : name;
    if (type === '0' || type === '')
      files.set(path.replace(/^package\//, ''), tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Names of the workspace packages marked `"private": true` (never published, so never a dependency). */
async function privateWorkspacePackages() {
  const names = new Set();
  for (const group of ['packages', 'apps']) {
    for (const entry of await readdir(join(root, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const manifest = await readManifest(join(root, group, entry.name)).catch(() => undefined);
      if (manifest?.private === true) names.add(manifest.name);
    }
  }
  return names;
}

const RUNTIME_DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/**
 * Checks what a packed library holds, and throws listing every problem:
 * - `package.json`, `README.md`, `LICENSE` (MIT, "Roundguard contributors") and every file the manifest's
 *   `main` / `module` / `types` / `exports` name (custom conditions such as `@roundguard/source` aside);
 * - nothing but `dist/` besides those: no `src/`, no tests;
 * - source maps that embed the source (`sourcesContent`), so that they work without `src/`;
 * - no `workspace:` range left, no private workspace package among the runtime dependencies, and no
 *   import of one left in the built files (they are bundled);
 * - when `dependencies` is given, exactly those runtime dependencies.
 *
 * @param {string} file the `.tgz`
 * @param {{ dependencies?: string[] }} [expect]
 * @returns {Promise<string[]>} the paths in the tarball
 */
export async function checkTarball(file, expect = {}) {
  const files = await readTarball(file);
  const problems = [];
  const manifestBytes = files.get('package.json');
  if (!manifestBytes) throw new Error(`${file}: no package.json`);
  const manifest = JSON.parse(manifestBytes.toString('utf8'));

  const license = files.get('LICENSE')?.toString('utf8');
  if (license === undefined) problems.push('no LICENSE');
  else if (!license.startsWith('MIT License') || !license.includes('Roundguard contributors'))
    problems.push('LICENSE is not the MIT license of the Roundguard contributors');
  if (manifest.license !== 'MIT')
    problems.push(`"license" is ${JSON.stringify(manifest.license)}, not "MIT"`);
  if (!files.has('README.md')) problems.push('no README.md');

  const named = new Set();
  const collect = (value, condition) => {
    if (condition?.startsWith('@roundguard/')) return;
    if (typeof value === 'string') {
      if (value.startsWith('./') && !value.endsWith('/package.json')) named.add(value.slice(2));
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) collect(inner, key);
    }
  };
  collect(
    [manifest.main, manifest.module, manifest.types].map((f) => (f ? `./${f.replace(/^\.\//, '')}` : f)),
  );
  collect(manifest.exports);
  for (const path of named)
    if (!files.has(path)) problems.push(`${path} is named in package.json but not packed`);

  for (const [path, bytes] of files) {
    if (['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(path)) continue;
    if (!path.startsWith('dist/')) problems.push(`${path} is packed (only dist/ should be)`);
    if (/\.test\.|\/test\//.test(path)) problems.push(`${path} is a test`);
    if (path.endsWith('.map')) {
      const map = JSON.parse(bytes.toString('utf8'));
      const embedded = Array.isArray(map.sourcesContent)
        ? map.sourcesContent.filter((c) => typeof c === 'string')
        : [];
      if (embedded.length !== map.sources.length)
        problems.push(`${path} does not embed every source (sourcesContent)`);
    }
  }

  const privates = await privateWorkspacePackages();
  for (const field of [...RUNTIME_DEPENDENCY_FIELDS, 'devDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${name} is still ${range}`);
      if (field !== 'devDependencies' && privates.has(name))
        problems.push(`${field} names the private package ${name}`);
    }
  }
  for (const [path, bytes] of files) {
    if (!/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(path)) continue;
    const code = bytes.toString('utf8');
    for (const name of privates) {
      const specifier = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const imports = new RegExp(
        `(?:\\bfrom\\s*|\\b(?:require|import)\\(\\s*)['"]${specifier}(?:/[^'"]*)?['"]`,
      );
      if (imports.test(code)) problems.push(`${path} imports ${name}`);
    }
  }
  if (expect.dependencies) {
    const runtime = RUNTIME_DEPENDENCY_FIELDS.flatMap((field) => Object.keys(manifest[field] ?? {})).sort();
    const wanted = [...expect.dependencies].sort();
    if (runtime.join() !== wanted.join())
      problems.push(`runtime dependencies are [${runtime.join(', ')}], expected [${wanted.join(', ')}]`);
  }
  if (problems.length > 0) throw new Error(`${manifest.name} tarball ${file}:\n- ${problems.join('\n- ')}`);
  return [...files.keys()];
}

/**
 * @param {object} options
 * @param {string} options.packageDir absolute path of the library to check
 * @param {string} options.esm   body of consumer.mjs (must import the package and throw on a wrong result)
 * @param {string} options.cjs   body of consumer.cjs (must require the package and throw on a wrong result)
 * @param {string} options.ts    body of a TypeScript consumer (type-checked, not run)
 * @param {string[]} [options.dependencies] the exact runtime dependencies the packed manifest must list
 * @returns {Promise<{ scratch: string; tarballs: string[] }>}
 */
export async function verifyPackedPackage({ packageDir, esm, cjs, ts, dependencies }) {
  const scratch = await mkdtemp(join(tmpdir(), 'roundguard-pack-'));
  try {
    const packDir = join(scratch, 'tarballs');
    await mkdir(packDir);
    const closure = await workspaceClosure(packageDir);
    const checked = closure.keys().next().value;
    const tarballs = [];
    for (const [name, dir] of closure) {
      const { stdout } = await exec('pnpm', ['pack', '--pack-destination', packDir], dir);
      const tgz = stdout
        .trim()
        .split('\n')
        .filter((l) => l.endsWith('.tgz'))
        .pop();
      if (!tgz) throw new Error(`pnpm pack printed no tarball name for ${dir}:\n${stdout}`);
      const tarball = resolve(dir, tgz);
      await checkTarball(tarball, name === checked ? { dependencies } : {});
      tarballs.push(tarball);
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
