// The proxy's Node.js flags (node-flags.mjs) are the ones its bin, `pnpm start` and `pnpm bench` use.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PROXY_NODE_FLAGS } from '../node-flags.mjs';
import { PROXY_MAIN } from './helpers/processes.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

describe('Node.js flags', () => {
  it('include a young generation of 4 MiB, without allocation-site pretenuring', () => {
    expect(PROXY_NODE_FLAGS).toEqual(['--max-semi-space-size=4', '--no-allocation-site-pretenuring']);
  });

  it('are in the shebang of the built bin, and in the start script', () => {
    expect(pkg.bin.roundguard).toBe('./dist/main.js');
    const firstLine = readFileSync(PROXY_MAIN, 'utf8').split('\n', 1)[0];
    expect(firstLine).toBe(`#!/usr/bin/env -S node ${PROXY_NODE_FLAGS.join(' ')}`);
    expect(pkg.scripts.start).toBe(
      `node ${PROXY_NODE_FLAGS.join(' ')} dist/main.js --config config/default.json`,
    );
  });

  it.skipIf(!existsSync('/proc/self/cmdline'))('reach the process when the bin is run directly', async () => {
    const args = '--host 127.0.0.1 --port 0 --admin-port 0 --log-format json --upstream http://127.0.0.1:9';
    // Spawned as a file, not as `node file`: the kernel runs the shebang.
    const child = spawn(PROXY_MAIN, args.split(' '), { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) {
        if ((JSON.parse(line) as { msg?: string }).msg === 'listening') break;
      }
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of PROXY_NODE_FLAGS) expect(argv).toContain(flag);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
