import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedFdStream } from '../src/batched-fd-stream.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tempFd(): { fd: number; path: string } {
  dir = mkdtempSync(join(tmpdir(), 'echo-log-'));
  const path = join(dir, 'out.log');
  return { fd: openSync(path, 'w'), path };
}

describe('BatchedFdStream', () => {
  it('writes every line, in order, by the time an empty write calls back', async () => {
    const { fd, path } = tempFd();
    const stream = new BatchedFdStream(fd);
    const lines = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"text":"é✓"}\n`);
    for (const line of lines) stream.write(line);
    expect(stream.writableLength).toBeGreaterThan(0);
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    closeSync(fd);
  });

  it('writes a buffer-full of lines at once, and lines longer than the buffer whole', async () => {
    const { fd, path } = tempFd();
    const stream = new BatchedFdStream(fd);
    const short = `${'x'.repeat(1023)}\n`;
    const long = `${'é'.repeat(100_000)}\n`;
    for (let i = 0; i < 200; i++) expect(stream.write(short)).toBe(true);
    // More than the 64 KiB buffer: the first lines are already written, in this same turn.
    expect(readFileSync(path, 'utf8').length).toBeGreaterThan(0);
    stream.write(long);
    stream.write(short);
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
    expect(stream.writableLength).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(short.repeat(200) + long + short);
    closeSync(fd);
  });

  it('keeps lines and retries while a non-blocking pipe is full (EAGAIN), losing nothing', async () => {
    // A reader that starts reading only after a while; our end of its stdin pipe is non-blocking.
    const child = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => process.stdin.pipe(process.stdout), 300)'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const exited = new Promise((resolve) => child.once('close', resolve));
    const stream = new BatchedFdStream(fd);
    const lines = Array.from(
      { length: 2000 },
      (_, i) => `${String(i).padStart(6, '0')} ${'y'.repeat(1000)}\n`,
    );
    for (const line of lines) stream.write(line);
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
    child.stdin.end();
    await exited;
    expect(Buffer.concat(chunks).toString()).toBe(lines.join(''));
  });

  it('is not a TTY when writing to a file', () => {
    const { fd } = tempFd();
    expect(new BatchedFdStream(fd).isTTY).toBe(false);
    closeSync(fd);
  });

  it('reports a failing descriptor as a stream error', async () => {
    // A descriptor number far above anything open (a just-closed one could be reused meanwhile).
    const stream = new BatchedFdStream(999_999);
    const error = new Promise<Error>((resolve) => stream.once('error', resolve));
    stream.write('lost\n');
    expect(((await error) as NodeJS.ErrnoException).code).toBe('EBADF');
  });

  it('with maxWriteBytes, writes everything in order, lines longer than the limit whole', async () => {
    const { fd, path } = tempFd();
    const stream = new BatchedFdStream(fd, { maxWriteBytes: 100 });
    const lines = Array.from({ length: 300 }, (_, i) => `${i}:${'z'.repeat(i % 7 === 0 ? 250 : i % 90)}\n`);
    for (const line of lines) stream.write(line);
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    closeSync(fd);
  });

  it('refuses a maxWriteBytes that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new BatchedFdStream(1, { maxWriteBytes: bad })).toThrow(RangeError);
    }
  });

  it('with maxWriteBytes 4096, lines of processes sharing one pipe never mix', async () => {
    // Two processes write to one pipe whose reader pauses: a write larger than PIPE_BUF is split when the
    // pipe fills up, and the other process's bytes land in the middle of a line.
    const module = transpiledModule();
    const writer = (id: string): string =>
      `import(${JSON.stringify(module)}).then(({ BatchedFdStream }) => {
        const s = new BatchedFdStream(1, { maxWriteBytes: 4096 });
        for (let i = 0; i < 3000; i++) s.write('${id}' + String(i).padStart(5, '0') + '${id}'.repeat(290) + '\\n');
      });`;
    const node = JSON.stringify(process.execPath);
    const child = spawn('sh', ['-c', `${node} -e "$A" & ${node} -e "$B" & wait`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, A: writer('a'), B: writer('b') },
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 500);
    await new Promise((resolve) => child.once('close', resolve));
    const lines = Buffer.concat(chunks).toString().split('\n');
    expect(lines.pop()).toBe('');
    const seen = { a: 0, b: 0 };
    for (const line of lines) {
      const match = /^([ab])(\d{5})\1{290}$/.exec(line);
      expect(match, line.slice(0, 40)).not.toBeNull();
      const id = match?.[1] as 'a' | 'b';
      expect(Number(match?.[2])).toBe(seen[id]++);
    }
    expect(seen).toEqual({ a: 3000, b: 3000 });
  });

  it('flushSync() from an exit handler writes what is buffered when the process exits', async () => {
    const { fd, path } = tempFd();
    closeSync(fd);
    const script = (withHandler: boolean): string =>
      `import(${JSON.stringify(transpiledModule())}).then(({ BatchedFdStream }) => {
        const fd = require('node:fs').openSync(${JSON.stringify(path)}, 'w');
        const s = new BatchedFdStream(fd);
        ${withHandler ? "process.on('exit', () => s.flushSync());" : ''}
        for (let i = 0; i < 100; i++) s.write('line ' + i + '\\n');
        process.exit(0);
      });`;
    const run = (withHandler: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script(withHandler)], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('close', () => resolve(readFileSync(path, 'utf8')));
      });
    // Without the handler the lines are still in the buffer when the process exits: lost.
    expect(await run(false)).toBe('');
    expect(await run(true)).toBe(Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  });
});

let transpiled: string | undefined;
/** src/batched-fd-stream.ts as a JavaScript module child processes can import (it imports only node:*). */
function transpiledModule(): string {
  if (transpiled !== undefined) return transpiled;
  const source = readFileSync(new URL('../src/batched-fd-stream.ts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const moduleDir = mkdtempSync(join(tmpdir(), 'logger-fd-'));
  const file = join(moduleDir, 'batched-fd-stream.mjs');
  writeFileSync(file, outputText);
  transpiled = pathToFileURL(file).href;
  return transpiled;
}
