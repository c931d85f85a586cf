// deploy/Dockerfile, checked without a registry or a Docker daemon: parsed with dockerfile-ast (the
// parser of the VS Code Docker extension), its stages and instructions checked against the repository
// and the proxy's options, and its HEALTHCHECK command run for real against a running proxy and echo.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_OPTIONS } from '../../src/options.js';
import { SEMI_SPACE_OPTION } from '../../src/young-generation.js';
import { startEcho, startProxy, stopAllProcesses } from '../helpers/processes.js';
import { allManifests, DEPLOY_DIR, find, REPO_ROOT, type DeploymentManifest } from './manifests.js';

afterEach(stopAllProcesses);

const dockerfile = DockerfileParser.parse(readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8'));

interface Stage {
  readonly name: string | undefined;
  readonly image: string | null;
  readonly instructions: Instruction[];
}

/** The instructions of each stage, from its FROM to the next. */
function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile
        .getFROMs()
        .find((f) => f.getRange().start.line === instruction.getRange().start.line);
      result.push({
        name: from?.getBuildStage() ?? undefined,
        image: from?.getImage() ?? null,
        instructions: [],
      });
    } else result.at(-1)?.instructions.push(instruction);
  }
  return result;
}

function args(instruction: Instruction | undefined): string {
  return instruction?.getArgumentsContent() ?? '';
}

function named(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.getKeyword() === keyword);
}

/** The exec form of an instruction (`["node", "-e", "..."]`), after its flags. */
function execForm(instruction: Instruction | undefined): string[] {
  const content = args(instruction).replace(/^CMD\s+/, '');
  return JSON.parse(content) as string[];
}

function defaultOf(key: string): unknown {
  return PROXY_OPTIONS.find((row) => row.key === key)?.default;
}

const all = stages();
const build = all.find((s) => s.name === 'build')!;
const final = all.at(-1)!;

/** The `node -e` script of a stage's HEALTHCHECK. */
function healthScript(stage: Stage): string {
  const check = named(stage, 'HEALTHCHECK')[0];
  const [node, flag, script] = execForm(check);
  expect([node, flag]).toEqual(['node', '-e']);
  return script!;
}

function runHealthcheck(script: string, env: Record<string, string>): number | null {
  return spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 10_000 })
    .status;
}

describe('deploy/Dockerfile', () => {
  it('parses, with every stage on node:20-slim', () => {
    expect(dockerfile.getInstructions().length).toBeGreaterThan(10);
    expect(all.map((s) => [s.name, s.image])).toEqual([
      ['build', 'node:20-slim'],
      ['echo', 'node:20-slim'],
      ['proxy', 'node:20-slim'],
    ]);
  });

  it('builds in its build stage: the lockfile, the pinned pnpm, then production dependencies only', () => {
    const runs = named(build, 'RUN').map(args);
    const packageManager = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        packageManager: string;
      }
    ).packageManager;
    expect(runs[0]).toBe(`npm install --global ${packageManager}`);
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs.some((r) => /pnpm --filter proxy deploy --prod\b.* \/out\/proxy/.test(r))).toBe(true);
    for (const copy of named(build, 'COPY')) {
      const sources = args(copy).split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
  });

  it('ends with the proxy stage: non-root, only what the build stage deployed, no install step', () => {
    expect(final.name).toBe('proxy');
    expect(named(final, 'RUN')).toEqual([]);
    const user = args(named(final, 'USER')[0]);
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toBe('node');
    const lines = new Set(final.instructions.map((i) => i.getRange().start.line));
    const copies = dockerfile.getCOPYs().filter((c) => lines.has(c.getRange().start.line));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      expect(
        copy
          .getFlags()
          .find((f) => f.getName() === 'from')
          ?.getValue(),
      ).toBe('build');
      expect(args(copy)).toMatch(/^\/out\/proxy\//);
    }
  });

  it("exposes the proxy's default ports and starts dist/main.js with the ConfigMap's config file", () => {
    const exposed = args(named(final, 'EXPOSE')[0]).split(/\s+/).map(Number);
    expect(exposed).toEqual([defaultOf('port'), defaultOf('adminPort')]);
    expect(execForm(named(final, 'ENTRYPOINT')[0])).toEqual(['node', SEMI_SPACE_OPTION, '/app/dist/main.js']);
    const cmd = execForm(named(final, 'CMD')[0]);
    const proxy = find<DeploymentManifest>(allManifests(), 'Deployment', 'roundguard-proxy');
    const container = proxy.spec.template.spec.containers[0]!;
    expect(container.args?.slice(0, 2)).toEqual(cmd);
    const mount = container.volumeMounts?.[0]?.mountPath;
    expect(cmd[1]).toBe(`${mount}/config.json`);
  });

  it('keeps node_modules and build output out of the build context', () => {
    const ignore = readFileSync(join(DEPLOY_DIR, 'Dockerfile.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });

  it("has a HEALTHCHECK that asks the proxy's admin /healthz with node itself: 0 while it runs, 1 once it is gone", async () => {
    const script = healthScript(final);
    expect(script).toContain('/healthz');
    // Slim images have neither curl nor wget.
    for (const instruction of dockerfile.getInstructions())
      expect(args(instruction)).not.toMatch(/\b(curl|wget)\b/);
    const proxy = await startProxy(['--upstream', 'http://127.0.0.1:1']);
    const env = { ROUNDGUARD_ADMIN_PORT: String(proxy.adminPort) };
    expect(runHealthcheck(script, env)).toBe(0);
    await proxy.stop('SIGTERM');
    expect(runHealthcheck(script, env)).toBe(1);
  });

  it("has an echo stage whose HEALTHCHECK asks echo's /health", async () => {
    const stage = all.find((s) => s.name === 'echo')!;
    expect(args(named(stage, 'USER')[0])).toBe('node');
    const script = healthScript(stage);
    const echo = await startEcho();
    expect(runHealthcheck(script, { ECHO_PORT: String(echo.port) })).toBe(0);
    await echo.stop('SIGTERM');
    expect(runHealthcheck(script, { ECHO_PORT: String(echo.port) })).toBe(1);
  });
});
