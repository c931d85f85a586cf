import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/ports.js';
import { fdCount, MiB, rssBytes } from '../src/proc-stats.js';
import { cleanEnv, runToExit, spawnLogged, stopAllProcesses } from '../src/processes.js';
import { parseMetrics, sumOf } from '../src/prometheus.js';
import { waitFor } from '../src/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'testkit-'));
const script = join(dir, 'logs.mjs');
writeFileSync(
  script,
  `console.log(JSON.stringify({ msg: 'listening', port: 1 }));\nconsole.log('plain');\n` +
    `console.error('to stderr');\nif (process.argv[2] === 'exit') process.exit(3);\nsetInterval(() => {}, 1000);\n`,
);

afterAll(stopAllProcesses);

describe('spawnLogged', () => {
  it('reads JSON records as they come and stops the process by its PID', async () => {
    const proc = spawnLogged(script, [], cleanEnv());
    expect(await proc.waitForRecord((r) => r.msg === 'listening')).toEqual({ msg: 'listening', port: 1 });
    await waitFor(() => proc.records.length === 2, 'the second line');
    expect(proc.records[1]).toEqual({ msg: '(not json)', line: 'plain' });
    expect(await proc.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(proc.stderr()).toBe('to stderr\n');
  });

  it('keeps only the selected lines when asked, and counts them all; reads what the process holds', async () => {
    const proc = spawnLogged(script, [], cleanEnv(), { select: (line) => line.includes('"listening"') });
    await proc.waitForRecord((r) => r.msg === 'listening');
    await waitFor(() => proc.lines() === 2, 'two lines');
    expect(proc.records).toEqual([{ msg: 'listening', port: 1 }]);
    expect(proc.stdout()).toBe('');
    expect(rssBytes(proc.pid)).toBeGreaterThan(MiB);
    expect(fdCount(proc.pid)).toBeGreaterThanOrEqual(3);
    await proc.stop();
    expect(() => fdCount(proc.pid)).toThrow();
  });

  it('rejects a wait when the process exits first', async () => {
    const proc = spawnLogged(script, ['exit'], cleanEnv());
    await expect(proc.waitForRecord((r) => r.msg === 'never')).rejects.toThrow(/exited \(code 3/);
  });
});

describe('runToExit and cleanEnv', () => {
  it('returns the exit code and the output', async () => {
    expect(await runToExit(script, ['exit'], cleanEnv())).toMatchObject({ code: 3, stderr: 'to stderr\n' });
  });

  it('leaves out what configures the apps', () => {
    process.env.ROUNDGUARD_PORT = '1';
    process.env.NO_COLOR = '1';
    try {
      const env = cleanEnv({ ECHO_NAME: 'x' });
      expect(env.ROUNDGUARD_PORT).toBeUndefined();
      expect(env.NO_COLOR).toBeUndefined();
      expect(env.ECHO_NAME).toBe('x');
    } finally {
      delete process.env.ROUNDGUARD_PORT;
      delete process.env.NO_COLOR;
    }
  });
});

describe('freePort', () => {
  it('is a loopback port nothing listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe('parseMetrics', () => {
  it('reads names, escaped labels and values, and sums by label', () => {
    const samples = parseMetrics(
      '# TYPE a counter\na{x="1",y="q\\"u"} 2\na{x="2"} 3\nb_bucket{le="+Inf"} +Inf\n',
    );
    expect(samples[0]).toEqual({ name: 'a', labels: { x: '1', y: 'q"u' }, value: 2 });
    expect(sumOf(samples, 'a')).toBe(5);
    expect(sumOf(samples, 'a', { x: '2' })).toBe(3);
    expect(samples[2]?.value).toBe(Infinity);
    expect(() => parseMetrics('not a sample line!')).toThrow(/unparsable/);
  });
});
