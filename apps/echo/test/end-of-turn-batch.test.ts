import { describe, expect, it } from 'vitest';
import { EndOfTurnBatch } from '../src/end-of-turn-batch.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A batch whose writes append to `written`. */
function recordingBatch(): { batch: EndOfTurnBatch<number>; written: number[] } {
  const written: number[] = [];
  const batch = new EndOfTurnBatch<number>(
    (n) => written.push(n),
    () => {},
  );
  return { batch, written };
}

describe('EndOfTurnBatch', () => {
  it('writes the items of one turn at its end, together and in order', async () => {
    const { batch, written } = recordingBatch();
    batch.add(1);
    batch.add(2);
    await Promise.resolve();
    process.nextTick(() => batch.add(3));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(written).toEqual([]);
    expect(batch.size).toBe(3);
    await nextTurn();
    expect(written).toEqual([1, 2, 3]);
    expect(batch.size).toBe(0);
  });

  it('writes items added while writing in the same pass, and items added later in a later turn', async () => {
    const written: string[] = [];
    const batch: EndOfTurnBatch<string> = new EndOfTurnBatch<string>(
      (s) => {
        written.push(s);
        if (s === 'a') batch.add('a2');
      },
      () => {},
    );
    batch.add('a');
    batch.add('b');
    await nextTurn();
    expect(written).toEqual(['a', 'b', 'a2']);
    batch.add('c');
    expect(written).toEqual(['a', 'b', 'a2']);
    await nextTurn();
    expect(written).toEqual(['a', 'b', 'a2', 'c']);
  });

  it('hands a throwing item to onError, still writes the others, and keeps working afterwards', async () => {
    const written: number[] = [];
    const failed: [string, number][] = [];
    const batch = new EndOfTurnBatch<number>(
      (n) => {
        if (n === 2) throw new Error(`cannot write ${n}`);
        written.push(n);
      },
      (err, n) => failed.push([(err as Error).message, n]),
    );
    batch.add(1);
    batch.add(2);
    batch.add(3);
    await nextTurn();
    expect(written).toEqual([1, 3]);
    expect(failed).toEqual([['cannot write 2', 2]]);
    batch.add(4);
    await nextTurn();
    expect(written).toEqual([1, 3, 4]);
  });

  it('flush() writes the waiting items at once, and only once', async () => {
    const { batch, written } = recordingBatch();
    batch.add(1);
    batch.add(2);
    batch.flush();
    expect(written).toEqual([1, 2]);
    expect(batch.size).toBe(0);
    batch.add(3);
    expect(written).toEqual([1, 2]);
    await nextTurn();
    await nextTurn();
    expect(written).toEqual([1, 2, 3]);
  });
});
