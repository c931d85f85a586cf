// What the image's final stage holds, made here as its build stage makes it: `pnpm deploy --prod` of the
// proxy puts the app with its production dependencies only in a directory; the proxy starts from there
// (as `node --max-semi-space-size=2 /app/dist/main.js`) and forwards. No Docker needed: this is the step
// the Dockerfile relies on.
// `--offline`: the packages come from the store `pnpm install` filled; the test reaches no registry.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { SEMI_SPACE_OPTION } from '../../src/young-generation.js';
import { postJson } from '../helpers/http.js';
import { startEcho, stopAllProcesses } from '../helpers/processes.js';
import { REPO_ROOT } from './manifests.js';

const out = mkdtempSync(join(tmpdir(), 'roundguard-image-'));
const children: ReturnType<typeof spawn>[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stopAllProcesses();
  rmSync(out, { recursive: true, force: true });
});

it('holds the built proxy with its production dependencies only, and runs from there', async () => {
  const target = join(out, 'proxy');
  const deploy = spawnSync(
    'pnpm',
    ['--filter', 'proxy', 'deploy', '--prod', '--legacy', '--offline', target],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(deploy.status, `${deploy.stdout}\n${deploy.stderr}`).toBe(0);

  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/proxy/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const topLevel = readdirSync(join(target, 'node_modules'))
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(target, 'node_modules', name)).map((n) => `${name}/${n}`)
        : [name],
    )
    .sort();
  expect(topLevel).toEqual(Object.keys(pkg.dependencies).sort());
  for (const dev of Object.keys(pkg.devDependencies))
    expect(existsSync(join(target, 'node_modules', dev)), dev).toBe(false);
  // Workspace libraries come as published: their build, not their sources or tests.
  const dispatcher = join(target, 'node_modules/@roundguard/dispatcher');
  expect(existsSync(join(dispatcher, 'dist'))).toBe(true);
  expect(existsSync(join(dispatcher, 'src'))).toBe(false);

  const echo = await startEcho();
  const child = spawn(
    process.execPath,
    // As the image's ENTRYPOINT starts it.
    [
      SEMI_SPACE_OPTION,
      join(target, 'dist/main.js'),
      ...['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'],
    ],
    {
      cwd: target,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ROUNDGUARD_UPSTREAMS: echo.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const listening = await new Promise<{ port: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'listening') resolve({ port: record.port! });
    });
    child.once('exit', (code) => reject(new Error(`the deployed proxy exited (${code})`)));
  });
  const res = await postJson(`http://127.0.0.1:${listening.port}/from-image`, { image: true });
  expect(res.status).toBe(200);
  expect(res.json()).toEqual({ image: true });
  child.kill('SIGTERM');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(0);
}, 180_000);
