import { Histogram } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTOGRAM_FALLBACK_WARNING } from '../src/index.js';
import { HistogramStore, setBufferedHistogramsSupported } from '../src/histogram-store.js';

const BUCKETS = [0.1, 1];

function histogram(): Histogram<string> {
  return new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['a'], buckets: BUCKETS, registers: [] });
}

/**
 * The same prom-client histogram, with its storage hidden: what this package sees when a prom-client
 * release keeps its series elsewhere. Its public methods still work on the real object.
 */
function withoutInternals(real: Histogram<string>): Histogram<string> {
  return new Proxy(real, {
    get(target, property) {
      if (property === 'hashMap') return undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Process warnings with the fallback code emitted while `run` runs (they are delivered on a later tick). */
async function fallbackWarnings(run: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error & { code?: string }) => {
    if (warning.code === HISTOGRAM_FALLBACK_WARNING) seen.push(warning);
  };
  process.on('warning', listener);
  try {
    run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

async function values(h: Histogram<string>): Promise<Record<string, number>> {
  const { values } = await h.get();
  return Object.fromEntries(
    values.map((v) => [
      `${v.metricName}{${Object.entries(v.labels)
        .map(([k, l]) => `${k}=${l}`)
        .join(',')}}`,
      v.value,
    ]),
  );
}

afterEach(() => setBufferedHistogramsSupported(undefined));

describe('HistogramStore', () => {
  it("buffers into a real prom-client histogram's storage, and flush() makes the observations visible", async () => {
    const h = histogram();
    const store = new HistogramStore(h, BUCKETS);
    expect(store.buffered).toBe(true);
    const cell = store.add({ a: 'x' });
    cell.observe(0.5);
    cell.observe(5);
    expect(await values(h)).toEqual({});
    store.flush();
    expect(await values(h)).toEqual({
      'h_seconds_bucket{le=0.1,a=x}': 0,
      'h_seconds_bucket{le=1,a=x}': 1,
      'h_seconds_bucket{le=+Inf,a=x}': 2,
      'h_seconds_sum{a=x}': 5.5,
      'h_seconds_count{a=x}': 2,
    });
  });

  it("falls back to prom-client's observe() when the histogram has no storage it knows, with the same output", async () => {
    setBufferedHistogramsSupported(undefined);
    const real = histogram();
    let store: HistogramStore | undefined;
    await fallbackWarnings(() => (store = new HistogramStore(withoutInternals(real), BUCKETS)));
    expect(store?.buffered).toBe(false);
    const cell = store!.add({ a: 'x' });
    cell.observe(0.5);
    cell.observe(5);
    expect(await values(real)).toEqual({
      'h_seconds_bucket{le=0.1,a=x}': 0,
      'h_seconds_bucket{le=1,a=x}': 1,
      'h_seconds_bucket{le=+Inf,a=x}': 2,
      'h_seconds_sum{a=x}': 5.5,
      'h_seconds_count{a=x}': 2,
    });
    store!.remove(cell);
    expect(await values(real)).toEqual({});
  });

  it('warns once per process, with its code, however many histograms fall back', async () => {
    setBufferedHistogramsSupported(undefined);
    const warnings = await fallbackWarnings(() => {
      new HistogramStore(withoutInternals(histogram()), BUCKETS);
      new HistogramStore(withoutInternals(histogram()), BUCKETS);
      new HistogramStore(histogram(), BUCKETS); // one that can buffer says nothing
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/@roundguard\/metrics: .*fall back to prom-client's observe\(\)/);
    expect(await fallbackWarnings(() => new HistogramStore(withoutInternals(histogram()), BUCKETS))).toEqual(
      [],
    );
  });

  it('does not warn for a histogram it can buffer', async () => {
    setBufferedHistogramsSupported(undefined);
    expect(await fallbackWarnings(() => new HistogramStore(histogram(), BUCKETS))).toEqual([]);
  });
});
