import { describe } from '@roundguard/internal';

/**
 * Why a probe failed, as counted by the proxy's `roundguard_health_checks_total{result}`:
 * - `bad_status`: the target answered, but not with a healthy status (`error` is e.g. `'HTTP 500'`);
 * - `error`: no usable answer (`error` is a code such as `'ECONNREFUSED'` or a message); a probe that throws
 *   counts as this;
 * - `timeout`: no answer within the time allowed.
 */
export type ProbeFailure = 'bad_status' | 'error' | 'timeout';

/** The label of a probe outcome: `'ok'` or one of {@link ProbeFailure}. */
export type ProbeOutcome = 'ok' | ProbeFailure;

/**
 * What a {@link Probe} resolves to.
 *
 * @example
 * { ok: true }
 * { ok: false, result: 'bad_status', error: 'HTTP 503' }
 */
export type ProbeResult =
  { readonly ok: true } | { readonly ok: false; readonly result: ProbeFailure; readonly error: string };

/**
 * Checks one target. It gets an `AbortSignal` that fires when the probe has taken too long (its `reason`
 * is then a `DOMException` named `TimeoutError`) or when the checker stops or drops the target: a probe
 * should stop its work and settle promptly then (the next probe of that target waits for it).
 *
 * It may resolve `{ ok: false, ... }` or throw (counted as `error`, with the thrown error's `code` or
 * message).
 *
 * @example
 * const probe: Probe<{ key: string; host: string }> = async (target, signal) => {
 *   const res = await fetch(`https://${target.host}/health`, { signal });
 *   return res.ok ? { ok: true } : { ok: false, result: 'bad_status', error: `HTTP ${res.status}` };
 * };
 */
export type Probe<T> = (target: T, signal: AbortSignal) => Promise<ProbeResult> | ProbeResult;

const PROBE_FAILURES: ReadonlySet<unknown> = new Set<ProbeFailure>(['bad_status', 'error', 'timeout']);

/** A short description of a thrown value: its `code` when it has a string one, else its message. */
export function errorText(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof message === 'string' && message !== '') return message;
  }
  return String(err);
}

/** Turns whatever a probe resolved to into a well-formed {@link ProbeResult}. */
export function normalizeProbeResult(value: unknown): ProbeResult {
  if (value !== null && typeof value === 'object') {
    const { ok, result, error } = value as { ok?: unknown; result?: unknown; error?: unknown };
    if (ok === true) return OK;
    if (ok === false) {
      return {
        ok: false,
        result: PROBE_FAILURES.has(result) ? (result as ProbeFailure) : 'error',
        error:
          typeof error === 'string' && error !== ''
            ? error
            : error === undefined
              ? 'probe failed'
              : errorText(error),
      };
    }
  }
  return { ok: false, result: 'error', error: `invalid probe result ${describe(value)}` };
}

/** The one success result (frozen, shared). */
export const OK: ProbeResult = Object.freeze({ ok: true });
