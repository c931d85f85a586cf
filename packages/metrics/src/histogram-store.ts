// The one place that knows how prom-client 15 stores a histogram's series: `histogram.hashMap`, an object
// of entries `{ labels, bucketValues: { [upperBound]: count in that bucket }, sum, count }` that
// `getForPromString()` reads after running the metric's `collect()`. Buffered histogram cells add their
// pending observations to these entries at scrape time. A probe checks the layout once per process; when it
// does not match (a future prom-client), `bufferedHistogramsSupported()` is false and cells fall back to
// prom-client's public `observe()` on every call: slower, never wrong.
import { Histogram } from 'prom-client';
import type { LabelSet } from './series.js';

/** One series of a prom-client histogram (internal layout, checked by {@link bufferedHistogramsSupported}). */
export interface HistogramEntry {
  labels: Record<string, unknown>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

type EntryMap = Record<string, HistogramEntry | undefined>;

/** Where an entry was found, so the next scrape can check in O(1) that it is still the live one. */
export interface EntryRef {
  map: EntryMap;
  key: string;
  entry: HistogramEntry;
}

function entryMap(histogram: Histogram<string>): EntryMap | undefined {
  const map = (histogram as unknown as { hashMap?: unknown }).hashMap;
  return map !== null && typeof map === 'object' ? (map as EntryMap) : undefined;
}

function sameLabels(stored: Record<string, unknown>, wanted: LabelSet): boolean {
  let n = 0;
  for (const name in wanted) {
    if (String(stored[name]) !== wanted[name]) return false;
    n++;
  }
  for (const name in stored) if (stored[name] !== undefined) n--;
  return n === 0;
}

function findEntry(histogram: Histogram<string>, labels: LabelSet): EntryRef | undefined {
  const map = entryMap(histogram);
  if (map === undefined) return undefined;
  for (const key in map) {
    const entry = map[key];
    if (
      entry !== undefined &&
      entry !== null &&
      typeof entry === 'object' &&
      sameLabels(entry.labels, labels)
    ) {
      return { map, key, entry };
    }
  }
  return undefined;
}

/** `ref` when it still points at the histogram's live entry for its series; otherwise finds or creates it. */
export function liveEntry(
  histogram: Histogram<string>,
  labels: LabelSet,
  ref: EntryRef | undefined,
): EntryRef {
  if (ref !== undefined && ref.map === entryMap(histogram) && ref.map[ref.key] === ref.entry) return ref;
  let found = findEntry(histogram, labels);
  if (found === undefined) {
    histogram.zero(labels);
    found = findEntry(histogram, labels);
  }
  if (found === undefined)
    throw new Error('prom-client histogram layout changed; cannot flush buffered observations');
  return found;
}

let supported: boolean | undefined;

function probe(): boolean {
  try {
    const h = new Histogram({
      name: 'probe_seconds',
      help: 'probe',
      labelNames: ['a'],
      buckets: [1, 2],
      registers: [],
    });
    h.observe({ a: 'x' }, 1.5);
    const found = findEntry(h, { a: 'x' });
    if (found === undefined) return false;
    const { entry } = found;
    return (
      entry.count === 1 &&
      entry.sum === 1.5 &&
      entry.bucketValues['1'] === 0 &&
      entry.bucketValues['2'] === 1 &&
      Object.keys(entry.bucketValues).length === 2 &&
      !Object.isFrozen(entry.bucketValues) &&
      liveEntry(h, { a: 'y' }, undefined).entry.count === 0
    );
  } catch {
    return false;
  }
}

/** Whether the installed prom-client stores histograms as this module expects (probed once per process). */
export function bufferedHistogramsSupported(): boolean {
  supported ??= probe();
  return supported;
}

/** Test hook: force the fallback (`false`), force buffering (`true`) or re-probe (`undefined`). Not exported. */
export function setBufferedHistogramsSupported(value: boolean | undefined): void {
  supported = value;
}
