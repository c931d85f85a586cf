// Per-upstream traffic over the last minutes, for the dashboard: request and error counts per second for
// 5 minutes (the req/s sparkline, the error share) and latency bucket counts per second for the last
// minute (p50/p99). Fixed-size typed arrays per upstream, written in place: recording a request is O(1)
// and allocates nothing; old seconds are cleared when the clock moves past them.
import { DashboardError, shown } from './errors.js';
import { LATENCY_BUCKETS, latencyBucket } from './latency-buckets.js';
import { COUNT_SECONDS, summarize, type TrafficCounts } from './traffic-counts.js';

/** Seconds of request and error counts kept: 5 minutes of complete seconds plus the current one. */
const COUNT_SLOTS = COUNT_SECONDS;
/** Seconds of latency kept: the current second and the 59 before it. */
const LATENCY_SLOTS = 60;
/** Seconds summed into one sparkline point. */
export const SPARKLINE_STEP_SECONDS = 5;
/** Points in a sparkline: 5 minutes of 5-second steps. */
export const SPARKLINE_POINTS = (COUNT_SLOTS - 1) / SPARKLINE_STEP_SECONDS;

/** One upstream's traffic as {@link TrafficHistory.snapshot} sees it. */
export interface UpstreamTraffic {
  /** Requests per second: the mean over the last 5 complete seconds. */
  readonly requestsPerSecond: number;
  /** Requests recorded in the last minute (the current second and the 59 before it). */
  readonly requestsLastMinute: number;
  /** Errors (5xx answers and failures with no answer) among {@link requestsLastMinute}. */
  readonly errorsLastMinute: number;
  /** `errorsLastMinute / requestsLastMinute`, from 0 to 1; `null` without requests. */
  readonly errorShare: number | null;
  /** Median duration over the last minute, in milliseconds (within 4.5 %); `null` without requests. */
  readonly p50Ms: number | null;
  /** 99th percentile duration over the last minute, in milliseconds (within 4.5 %); `null` without requests. */
  readonly p99Ms: number | null;
  /**
   * Requests per second over the last 5 minutes, oldest first: {@link SPARKLINE_POINTS} means over
   * {@link SPARKLINE_STEP_SECONDS} complete seconds each, the last one ending with the last complete second.
   */
  readonly sparkline: number[];
}

/** The hot-path handle of one upstream: get it once with {@link TrafficHistory.upstream}, keep it. */
export interface UpstreamRecorder {
  readonly name: string;
  /**
   * Counts one finished request: `status` is the status code the client got for it (a 5xx counts as an
   * error), or 0 when the upstream gave no answer at all (also an error); `durationSeconds` is how long it
   * took. O(1), allocates nothing.
   */
  record(status: number, durationSeconds: number): void;
}

export interface TrafficHistoryOptions {
  /**
   * The clock, in milliseconds (finite, not negative). Only differences matter, so a monotonic clock
   * keeps wall-clock jumps out of the rates.
   * @default () => performance.now()
   * @example new TrafficHistory({ now: () => fakeTime })
   */
  readonly now?: () => number;
}

function checkedSecond(now: () => number): number {
  const ms = now();
  if (typeof ms !== 'number' || !(ms >= 0) || ms === Infinity) {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`now()\` to return a finite number of milliseconds from 0 up, got ${shown(ms)}`,
    );
  }
  return Math.floor(ms / 1000);
}

class UpstreamSeries implements UpstreamRecorder {
  readonly name: string;
  readonly #now: () => number;
  /** The newest second written to; slots of later seconds are cleared when the clock reaches them. */
  #head: number;
  readonly #requests = new Uint32Array(COUNT_SLOTS);
  readonly #errors = new Uint32Array(COUNT_SLOTS);
  /** LATENCY_SLOTS rows of LATENCY_BUCKETS counts, one row per second. */
  readonly #latency = new Uint32Array(LATENCY_SLOTS * LATENCY_BUCKETS);
  /** The sum of the rows of #latency, kept up to date so that a snapshot reads one row. */
  readonly #latencyTotals = new Uint32Array(LATENCY_BUCKETS);

  constructor(name: string, now: () => number) {
    this.name = name;
    this.#now = now;
    this.#head = checkedSecond(now);
  }

  get byteLength(): number {
    return (
      this.#requests.byteLength +
      this.#errors.byteLength +
      this.#latency.byteLength +
      this.#latencyTotals.byteLength
    );
  }

  record(status: number, durationSeconds: number): void {
    if (typeof status !== 'number' || !(status >= 0 && status <= 999) || status % 1 !== 0) {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_ARGUMENT',
        `Expected \`status\` to be an integer from 0 to 999, got ${shown(status)}`,
      );
    }
    if (typeof durationSeconds !== 'number' || !(durationSeconds >= 0) || durationSeconds === Infinity) {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_ARGUMENT',
        `Expected \`durationSeconds\` to be a finite number from 0 up, got ${shown(durationSeconds)}`,
      );
    }
    const second = this.#advance(Math.floor(this.#now() / 1000));
    const slot = second % COUNT_SLOTS;
    const requests = this.#requests;
    requests[slot] = (requests[slot] as number) + 1;
    if (status === 0 || status >= 500) this.#errors[slot] = (this.#errors[slot] as number) + 1;
    const bucket = latencyBucket(durationSeconds);
    const cell = (second % LATENCY_SLOTS) * LATENCY_BUCKETS + bucket;
    this.#latency[cell] = (this.#latency[cell] as number) + 1;
    this.#latencyTotals[bucket] = (this.#latencyTotals[bucket] as number) + 1;
  }

  /** Moves the head to `second`, clearing the slots of the seconds skipped; returns the head. */
  #advance(second: number): number {
    const head = this.#head;
    // A clock that went back (or a second not over yet) counts in the newest slot.
    if (!(second > head)) return head;
    const gap = second - head;
    if (gap >= COUNT_SLOTS) {
      this.#requests.fill(0);
      this.#errors.fill(0);
    } else {
      for (let s = head + 1; s <= second; s++) {
        const slot = s % COUNT_SLOTS;
        this.#requests[slot] = 0;
        this.#errors[slot] = 0;
      }
    }
    if (gap >= LATENCY_SLOTS) {
      this.#latency.fill(0);
      this.#latencyTotals.fill(0);
    } else {
      for (let s = head + 1; s <= second; s++) {
        const row = (s % LATENCY_SLOTS) * LATENCY_BUCKETS;
        for (let b = 0; b < LATENCY_BUCKETS; b++) {
          const n = this.#latency[row + b] as number;
          if (n !== 0) {
            this.#latencyTotals[b] = (this.#latencyTotals[b] as number) - n;
            this.#latency[row + b] = 0;
          }
        }
      }
    }
    this.#head = second;
    return second;
  }

  /** The counts as of `second`, aligned on seconds ago. */
  counts(second: number): TrafficCounts {
    const head = this.#advance(second);
    const requests = new Array<number>(COUNT_SLOTS);
    const errors = new Array<number>(COUNT_SLOTS);
    // Seconds before the clock's zero never happened: they count as empty.
    for (let i = 0; i < COUNT_SLOTS; i++) {
      const s = head - i;
      requests[i] = s < 0 ? 0 : (this.#requests[s % COUNT_SLOTS] as number);
      errors[i] = s < 0 ? 0 : (this.#errors[s % COUNT_SLOTS] as number);
    }
    return { requests, errors, latency: Array.from(this.#latencyTotals) };
  }
}

/**
 * Traffic per upstream over the last 5 minutes, in bounded memory (about 43 KiB per upstream, whatever
 * the traffic). Each upstream is recorded through its own handle; remove an upstream when it leaves.
 *
 * @example
 * const history = new TrafficHistory();
 * const a = history.upstream('127.0.0.1:3001'); // once, when the upstream is added
 * a.record(200, 0.0042);                         // per finished request
 * history.snapshot().get('127.0.0.1:3001')?.p99Ms;
 */
export class TrafficHistory {
  readonly #now: () => number;
  readonly #series = new Map<string, UpstreamSeries>();

  constructor(options: TrafficHistoryOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_OPTION',
        `Expected \`options\` to be an object, got ${shown(options)}`,
      );
    }
    const now = options.now ?? (() => performance.now());
    if (typeof now !== 'function') {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_OPTION',
        `Expected \`now\` to be a function returning milliseconds, got ${shown(now)}`,
      );
    }
    checkedSecond(now);
    this.#now = now;
  }

  /**
   * The recorder of the upstream `name`, created with an empty history the first time and the same one
   * after that (so a handle taken again after a reload keeps its history).
   */
  upstream(name: string): UpstreamRecorder {
    if (typeof name !== 'string' || name === '') {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_ARGUMENT',
        `Expected \`name\` to be a non-empty string, got ${shown(name)}`,
      );
    }
    let series = this.#series.get(name);
    if (series === undefined) {
      series = new UpstreamSeries(name, this.#now);
      this.#series.set(name, series);
    }
    return series;
  }

  /**
   * Forgets the upstream `name`; returns whether it was known. A handle kept after this records into a
   * history nobody reads: take a new one with {@link upstream} if the name comes back.
   */
  remove(name: string): boolean {
    return this.#series.delete(name);
  }

  /** Forgets every upstream whose name is not in `names` (after a reload or a discovery change). */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of this.#series.keys()) if (!keep.has(name)) this.#series.delete(name);
  }

  /** Names of the upstreams with a history, in the order they were added. */
  names(): string[] {
    return [...this.#series.keys()];
  }

  /** Bytes held by the counters of all upstreams: a constant per upstream. */
  get byteLength(): number {
    let bytes = 0;
    for (const series of this.#series.values()) bytes += series.byteLength;
    return bytes;
  }

  /** Every upstream's traffic as of `now` (milliseconds on the history's clock; default: the clock). */
  snapshot(now: number = this.#now()): Map<string, UpstreamTraffic> {
    if (typeof now !== 'number' || !(now >= 0) || now === Infinity) {
      throw new DashboardError(
        'ERR_DASHBOARD_INVALID_ARGUMENT',
        `Expected \`now\` to be a finite number of milliseconds from 0 up, got ${shown(now)}`,
      );
    }
    const second = Math.floor(now / 1000);
    const out = new Map<string, UpstreamTraffic>();
    for (const [name, series] of this.#series) out.set(name, summarize(series.counts(second)));
    return out;
  }

  /** Every upstream's raw counts as of now, to be merged with other processes' ({@link mergeCounts}). */
  counts(): Map<string, TrafficCounts> {
    const second = checkedSecond(this.#now);
    const out = new Map<string, TrafficCounts>();
    for (const [name, series] of this.#series) out.set(name, series.counts(second));
    return out;
  }
}
