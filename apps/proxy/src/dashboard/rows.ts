// What the dashboard shows per upstream: the status the proxy reports joined with its traffic, with every
// number already formatted. The page and the live updates both use these rows, so the text is formatted
// in one place and the browser script only places it.
import type { UpstreamTraffic } from './traffic-history.js';
import { SPARKLINE_POINTS } from './traffic-history.js';

/** Upstream states, as `GET /upstreams` reports them. */
export const UPSTREAM_STATES = ['up', 'down', 'ejected', 'draining', 'maint'] as const;
export type UpstreamState = (typeof UPSTREAM_STATES)[number];

/** The last health probe of an upstream. */
export interface ProbeLike {
  /** When it finished: an ISO time, epoch milliseconds or a Date; `null` if unknown. */
  readonly at: string | number | Date | null;
  /** Whether it passed. */
  readonly ok: boolean;
  /** Its result word (`ok`, `bad_status`, `error`, `timeout`); defaults to `ok` / `failed`. */
  readonly result?: string | null;
  /** Why it failed (e.g. `ECONNREFUSED`, `status 503`); `null` when it passed. */
  readonly error?: string | null;
}

/**
 * One upstream as the dashboard needs it: a subset of what `GET /upstreams` reports per upstream (which
 * also has `healthy`, `requests`, `failures`, `ejectedUntil`, ...; extra fields are ignored).
 */
export interface UpstreamStatusLike {
  /** Unique name (`host:port` unless configured); also the key of its traffic history. */
  readonly name: string;
  readonly url: string;
  readonly state: UpstreamState;
  readonly weight: number;
  readonly inFlight: number;
  /** `null` or absent before the first probe, and with health checks off. */
  readonly lastProbe?: ProbeLike | null;
}

/** One row of the dashboard: the values, and the text the page shows for them. */
export interface DashboardRow {
  readonly name: string;
  readonly url: string;
  /** The state word as reported. */
  readonly state: string;
  /** The state's colour class: the state when it is a known one, else `unknown`. */
  readonly stateClass: UpstreamState | 'unknown';
  readonly weight: number;
  readonly inFlight: number;
  readonly requestsPerSecond: number;
  readonly errorShare: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly lastProbe: {
    readonly at: string | null;
    readonly ok: boolean;
    readonly result: string;
    readonly error: string | null;
  } | null;
  readonly text: {
    readonly weight: string;
    readonly inFlight: string;
    readonly rps: string;
    readonly errors: string;
    readonly errorsTitle: string;
    readonly p50: string;
    readonly p99: string;
    readonly probe: string;
    readonly probeTitle: string;
    readonly spark: string;
  };
  /** The sparkline as SVG polyline points in a {@link SPARK_WIDTH} x {@link SPARK_HEIGHT} box. */
  readonly sparkPoints: string;
}

/** What the page shows and `/events` sends each second. */
export interface DashboardSnapshot {
  /** When it was taken (ISO time). */
  readonly at: string;
  readonly upstreams: readonly DashboardRow[];
}

export const SPARK_WIDTH = 120;
export const SPARK_HEIGHT = 24;

const EMPTY_TRAFFIC: UpstreamTraffic = {
  requestsPerSecond: 0,
  requestsLastMinute: 0,
  errorsLastMinute: 0,
  errorShare: null,
  p50Ms: null,
  p99Ms: null,
  sparkline: new Array<number>(SPARKLINE_POINTS).fill(0),
};

/** `12.4`, `312`, `4.1k`: requests per second with about three significant digits. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1);
  if (perSecond < 1000) return String(Math.round(perSecond));
  if (perSecond < 10_000) return `${(perSecond / 1000).toFixed(1)}k`;
  return `${Math.round(perSecond / 1000)}k`;
}

/** `0 %`, `<0.1 %`, `2.5 %`, `40 %`; a dash without requests. */
export function formatShare(share: number | null): string {
  if (share === null) return '–';
  const percent = share * 100;
  if (percent === 0) return '0 %';
  if (percent < 0.1) return '<0.1 %';
  if (percent < 10) return `${percent.toFixed(1)} %`;
  return `${Math.round(percent)} %`;
}

/** `0.42 ms`, `3.1 ms`, `87 ms`, `1.25 s`; a dash without requests. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** `just now`, `4 s ago`, `3 min ago`, `2 h ago`. */
export function formatAge(ms: number): string {
  if (ms < 1000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  return `${Math.floor(ms / 3_600_000)} h ago`;
}

function probeTime(at: ProbeLike['at']): number | null {
  let ms: number;
  if (at instanceof Date) ms = at.getTime();
  else if (typeof at === 'number') ms = at;
  else if (typeof at === 'string') ms = Date.parse(at);
  else return null;
  return Number.isFinite(ms) ? ms : null;
}

function sparkPoints(values: readonly number[]): { points: string; max: number } {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  const step = values.length > 1 ? SPARK_WIDTH / (values.length - 1) : 0;
  const points = values
    .map((v, i) => {
      const y = SPARK_HEIGHT - 1 - (max === 0 ? 0 : (v / max) * (SPARK_HEIGHT - 2));
      return `${Math.round(i * step * 10) / 10},${Math.round(y * 10) / 10}`;
    })
    .join(' ');
  return { points, max };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The row of one upstream at wall-clock time `nowMs`. */
export function dashboardRow(
  status: UpstreamStatusLike,
  traffic: UpstreamTraffic | undefined,
  nowMs: number,
): DashboardRow {
  const t = traffic ?? EMPTY_TRAFFIC;
  const state = text(status.state);
  const stateClass = (UPSTREAM_STATES as readonly string[]).includes(state)
    ? (state as UpstreamState)
    : 'unknown';
  const probe = status.lastProbe ?? null;
  let lastProbe: DashboardRow['lastProbe'] = null;
  let probeText = 'none yet';
  let probeTitle = 'no probe has finished yet';
  if (probe !== null) {
    const at = probeTime(probe.at);
    const ok = probe.ok === true;
    const result = probe.result == null || probe.result === '' ? (ok ? 'ok' : 'failed') : text(probe.result);
    const error = probe.error == null || probe.error === '' ? null : text(probe.error);
    lastProbe = { at: at === null ? null : new Date(at).toISOString(), ok, result, error };
    probeText = at === null ? result : `${result} · ${formatAge(Math.max(0, nowMs - at))}`;
    probeTitle = [at === null ? 'time unknown' : new Date(at).toISOString(), error]
      .filter(Boolean)
      .join(': ');
  }
  const spark = sparkPoints(t.sparkline);
  const weight = count(status.weight);
  const inFlight = count(status.inFlight);
  return {
    name: text(status.name),
    url: text(status.url),
    state,
    stateClass,
    weight,
    inFlight,
    requestsPerSecond: t.requestsPerSecond,
    errorShare: t.errorShare,
    p50Ms: t.p50Ms,
    p99Ms: t.p99Ms,
    lastProbe,
    text: {
      weight: String(weight),
      inFlight: String(inFlight),
      rps: formatRate(t.requestsPerSecond),
      errors: formatShare(t.errorShare),
      errorsTitle: `${t.errorsLastMinute} of ${t.requestsLastMinute} requests in the last minute`,
      p50: formatMs(t.p50Ms),
      p99: formatMs(t.p99Ms),
      probe: probeText,
      probeTitle,
      spark: `req/s over the last 5 minutes, peak ${formatRate(spark.max)}`,
    },
    sparkPoints: spark.points,
  };
}
