import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/index.js';
import { sink } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('back-pressure', () => {
  it('a slow destination receives every record, in order, and flush() waits for it', async () => {
    const out = sink({ highWaterMark: 256, delayMs: 1 });
    const logger = createLogger({ format: 'json', destination: out.stream });
    const n = 2000;
    for (let i = 0; i < n; i++) logger.info('r', { i, pad: 'x'.repeat(i % 50) });
    expect(out.records().length).toBeLessThan(n);
    await logger.flush();
    const records = out.records();
    expect(records).toHaveLength(n);
    expect(records.map((r) => r.i)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('batches what accumulated while blocked into few writes, and does not keep writing into a full stream', async () => {
    const out = sink({ highWaterMark: 64, delayMs: 2 });
    const write = vi.spyOn(out.stream, 'write');
    const logger = createLogger({ format: 'json', destination: out.stream });
    for (let i = 0; i < 500; i++) logger.info('r', { i });
    expect(write.mock.calls.length).toBe(1);
    await logger.flush();
    expect(write.mock.calls.length).toBeLessThan(10);
    expect(out.records()).toHaveLength(500);
  });

  it('child loggers share the queue: order is kept across them', async () => {
    const out = sink({ highWaterMark: 128, delayMs: 1 });
    const root = createLogger({ format: 'json', destination: out.stream });
    const a = root.child({ who: 'a' });
    const b = root.child({ who: 'b' });
    for (let i = 0; i < 300; i++) (i % 2 === 0 ? a : b).info('r', { i });
    await b.flush();
    expect(out.records().map((r) => `${r.who as string}${r.i as number}`)).toEqual(
      Array.from({ length: 300 }, (_, i) => `${i % 2 === 0 ? 'a' : 'b'}${i}`),
    );
  });

  it('flush() resolves at once when nothing is pending', async () => {
    const out = sink();
    const logger = createLogger({ format: 'json', destination: out.stream });
    await logger.flush();
    logger.info('x');
    await logger.flush();
    expect(out.records()).toHaveLength(1);
  });

  it('flush() waits until the destination has written out what it buffered', async () => {
    const out = sink({ highWaterMark: 1 << 20, delayMs: 5 });
    const logger = createLogger({ format: 'json', destination: out.stream });
    for (let i = 0; i < 5; i++) logger.info('r', { i });
    expect(out.chunks.length).toBeLessThan(5);
    await logger.flush();
    expect(out.records()).toHaveLength(5);
  });

  it('warns once when the backlog passes 8 Mi characters, and keeps every record', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let release: () => void = () => undefined;
    const chunks: string[] = [];
    const stuck = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        if (chunks.length === 1) release = cb;
        else cb();
      },
    });
    const logger = createLogger({ format: 'json', destination: stuck });
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) logger.info('r', { i, big });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'ROUNDGUARD_LOGGER_BACKLOG' });
    release();
    await logger.flush();
    const lines = chunks.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('stops writing, and flush() resolves, when the destination is destroyed while blocked', async () => {
    const out = sink({ highWaterMark: 16, delayMs: 50 });
    const logger = createLogger({ format: 'json', destination: out.stream });
    for (let i = 0; i < 10; i++) logger.info('r', { i });
    out.stream.destroy();
    await logger.flush();
    expect(() => logger.info('after')).not.toThrow();
    await logger.flush();
  });

  it('does not throw when writing to a destination that was already ended', async () => {
    const out = sink();
    out.stream.on('error', () => undefined);
    const logger = createLogger({ format: 'json', destination: out.stream });
    out.stream.end();
    expect(() => logger.info('late')).not.toThrow();
    await logger.flush();
  });
});
