// Log-scale latency buckets: a duration falls in one of LATENCY_BUCKETS buckets by its base-2 logarithm,
// eight buckets per doubling between 0.1 ms and about 210 s, with one bucket below and one above. A
// quantile read back from bucket counts is the geometric middle of the bucket that holds the sample of
// that rank, so it is within 2^(1/16) - 1 = 4.4 % of that sample (rounded up to 4.5 % for float edges).
// Below 0.1 ms it is reported as 0.05 ms (within 0.05 ms); at or above the top, as the top (about 210 s).

/** Buckets per doubling of the duration. */
export const BUCKETS_PER_OCTAVE = 8;
/** Lower edge of the first log bucket, in seconds. */
export const MIN_LATENCY_SECONDS = 1e-4;
const OCTAVES = 21;
/** Lower edge of the overflow bucket, in seconds (0.1 ms x 2^21, about 209.7 s). */
export const MAX_LATENCY_SECONDS = MIN_LATENCY_SECONDS * 2 ** OCTAVES;
/** Number of buckets: the log buckets plus one underflow and one overflow bucket. */
export const LATENCY_BUCKETS = OCTAVES * BUCKETS_PER_OCTAVE + 2;
/** Largest relative error of a quantile estimate for samples from 0.1 ms up to the top bucket. */
export const QUANTILE_RELATIVE_ERROR = 0.045;

const LAST_LOG_BUCKET = LATENCY_BUCKETS - 2;

/** The bucket of a duration in seconds (finite, not negative). */
export function latencyBucket(seconds: number): number {
  if (seconds < MIN_LATENCY_SECONDS) return 0;
  if (seconds >= MAX_LATENCY_SECONDS) return LATENCY_BUCKETS - 1;
  const i = 1 + Math.floor(Math.log2(seconds / MIN_LATENCY_SECONDS) * BUCKETS_PER_OCTAVE);
  return i > LAST_LOG_BUCKET ? LAST_LOG_BUCKET : i;
}

/** The value a bucket stands for, in seconds: the geometric middle of its edges. */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) return MIN_LATENCY_SECONDS / 2;
  if (bucket >= LATENCY_BUCKETS - 1) return MAX_LATENCY_SECONDS;
  return MIN_LATENCY_SECONDS * 2 ** ((bucket - 0.5) / BUCKETS_PER_OCTAVE);
}

/**
 * The nearest-rank `q`-quantile (0 < q <= 1) of the samples counted in `counts`, in seconds: the value of
 * the bucket that holds the sample of rank ceil(q x total). `null` when there is no sample.
 */
export function bucketQuantile(counts: ArrayLike<number>, total: number, q: number): number | null {
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number;
    if (seen >= rank) return bucketValue(i);
  }
  return bucketValue(counts.length - 1);
}
