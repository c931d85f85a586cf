// The raw counts behind one upstream's traffic, aligned on "seconds ago" so that the counts of several
// processes (the workers of a cluster, whose clocks start at different times) add up, and the summary
// the dashboard shows, computed from them.
import { bucketQuantile, LATENCY_BUCKETS } from './latency-buckets.js';
import type { UpstreamTraffic } from './traffic-history.js';

/** Seconds of request and error counts: 5 minutes of complete seconds plus the current one. */
export const COUNT_SECONDS = 301;
/** `requestsPerSecond` is the mean over this many complete seconds. */
const RATE_SECONDS = 5;
/** Seconds of the last minute: the current one and the 59 before it. */
const MINUTE = 60;
const SPARK_STEP = 5;

/** One upstream's counts as of one moment. */
export interface TrafficCounts {
  /** Requests per second; `[0]` is the current second, `[i]` the one i seconds before ({@link COUNT_SECONDS} long). */
  readonly requests: number[];
  /** Errors (5xx, or no answer) per second, aligned as {@link requests}. */
  readonly errors: number[];
  /** Requests of the last minute by latency bucket (LATENCY_BUCKETS long). */
  readonly latency: number[];
}

/** The sum of several processes' counts of one upstream. */
export function mergeCounts(list: readonly TrafficCounts[]): TrafficCounts {
  const sum = (key: keyof TrafficCounts, length: number): number[] => {
    const out = new Array<number>(length).fill(0);
    for (const c of list) for (let i = 0; i < length; i++) out[i] = (out[i] as number) + (c[key][i] ?? 0);
    return out;
  };
  return {
    requests: sum('requests', COUNT_SECONDS),
    errors: sum('errors', COUNT_SECONDS),
    latency: sum('latency', LATENCY_BUCKETS),
  };
}

/** What the dashboard shows of counts (see {@link UpstreamTraffic}). */
export function summarize(c: TrafficCounts): UpstreamTraffic {
  const at = (i: number): number => c.requests[i] ?? 0;
  let recent = 0;
  for (let i = 1; i <= RATE_SECONDS; i++) recent += at(i);
  let requests = 0;
  let errors = 0;
  for (let i = 0; i < MINUTE; i++) {
    requests += at(i);
    errors += c.errors[i] ?? 0;
  }
  const sparkline: number[] = [];
  for (let ago = COUNT_SECONDS - 1; ago > 0; ago -= SPARK_STEP) {
    let sum = 0;
    for (let k = 0; k < SPARK_STEP; k++) sum += at(ago - k);
    sparkline.push(sum / SPARK_STEP);
  }
  let total = 0;
  for (const n of c.latency) total += n;
  const p50 = bucketQuantile(c.latency, total, 0.5);
  const p99 = bucketQuantile(c.latency, total, 0.99);
  return {
    requestsPerSecond: recent / RATE_SECONDS,
    requestsLastMinute: requests,
    errorsLastMinute: errors,
    errorShare: requests === 0 ? null : errors / requests,
    p50Ms: p50 === null ? null : p50 * 1000,
    p99Ms: p99 === null ? null : p99 * 1000,
    sparkline,
  };
}
