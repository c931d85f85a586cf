import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedFdStream } from '../src/log-destination.js';

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
});
