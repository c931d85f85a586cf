import { describe, MetricsError } from './errors.js';

/**
 * How a proxied request ended; the `outcome` label of `roundguard_requests_total`.
 *
 * - `ok`: the upstream's response was relayed completely (whatever its status).
 * - `upstream_error`: the upstream refused, reset or sent an invalid response (the proxy answers 502, or cuts
 *   a response that was already streaming).
 * - `timeout`: the upstream did not answer in time (504, or a cut body).
 * - `no_upstream`: no healthy upstream was in rotation (503).
 * - `client_abort`: the client went away before the response was complete.
 * - `rejected`: the proxy itself refused the request with a 4xx (malformed, unsupported, too slow), so it
 *   never reached an upstream.
 */
export type Outcome = 'ok' | 'upstream_error' | 'timeout' | 'no_upstream' | 'client_abort' | 'rejected';

/** Result of one health probe; the `result` label of `roundguard_health_checks_total`. */
export type HealthCheckResult = 'ok' | 'bad_status' | 'error' | 'timeout';

/** Direction of an upstream state change; the `to` label of `roundguard_upstream_transitions_total`. */
export type Transition = 'up' | 'down';

/**
 * State of an upstream; the `state` label of `roundguard_upstream_state`.
 *
 * - `up`: in rotation.
 * - `down`: a probe failed, or a connect failure took it out.
 * - `ejected`: taken out by outlier detection for a while.
 * - `draining`: takes no new requests; probes go on.
 * - `maint`: takes no new requests; not probed.
 */
export type UpstreamState = 'up' | 'down' | 'ejected' | 'draining' | 'maint';

/**
 * Result of one DNS lookup for discovery; the `result` label of `roundguard_dns_lookups_total`.
 *
 * - `ok`: records came back.
 * - `empty`: an authoritative empty answer (NXDOMAIN, or no records of the type asked for).
 * - `error`: the lookup failed (timeout, SERVFAIL, refused, ...).
 */
export type DnsLookupResult = 'ok' | 'empty' | 'error';

/**
 * Every {@link Outcome}, in the order used internally.
 *
 * @example
 * OUTCOMES.includes('timeout'); // true
 */
export const OUTCOMES: readonly Outcome[] = Object.freeze([
  'ok',
  'upstream_error',
  'timeout',
  'no_upstream',
  'client_abort',
  'rejected',
] as const);

/**
 * Every {@link HealthCheckResult}, in the order used internally.
 *
 * @example
 * HEALTH_CHECK_RESULTS.length; // 4
 */
export const HEALTH_CHECK_RESULTS: readonly HealthCheckResult[] = Object.freeze([
  'ok',
  'bad_status',
  'error',
  'timeout',
] as const);

/**
 * Every {@link Transition}.
 *
 * @example
 * TRANSITIONS; // ['up', 'down']
 */
export const TRANSITIONS: readonly Transition[] = Object.freeze(['up', 'down'] as const);

/**
 * Every {@link UpstreamState}, in the order used internally.
 *
 * @example
 * UPSTREAM_STATES.includes('ejected'); // true
 */
export const UPSTREAM_STATES: readonly UpstreamState[] = Object.freeze([
  'up',
  'down',
  'ejected',
  'draining',
  'maint',
] as const);

/**
 * Every {@link DnsLookupResult}, in the order used internally.
 *
 * @example
 * DNS_LOOKUP_RESULTS; // ['ok', 'empty', 'error']
 */
export const DNS_LOOKUP_RESULTS: readonly DnsLookupResult[] = Object.freeze([
  'ok',
  'empty',
  'error',
] as const);

/**
 * A change made through the admin write API; the `action` label of `roundguard_admin_changes_total`.
 *
 * - `add`: an upstream was added.
 * - `remove`: an upstream was removed (it drains first).
 * - `ready`, `drain`, `maint`: its administrative state was set.
 * - `weight`: its weight was set.
 */
export type AdminAction = 'add' | 'remove' | 'ready' | 'drain' | 'maint' | 'weight';

/**
 * Every {@link AdminAction}, in the order used internally.
 *
 * @example
 * ADMIN_ACTIONS.includes('drain'); // true
 */
export const ADMIN_ACTIONS: readonly AdminAction[] = Object.freeze([
  'add',
  'remove',
  'ready',
  'drain',
  'maint',
  'weight',
] as const);

/** Index of `outcome` in {@link OUTCOMES}; throws `ERR_METRICS_INVALID_LABEL` for anything else. */
export function outcomeIndex(outcome: Outcome): number {
  switch (outcome) {
    case 'ok':
      return 0;
    case 'upstream_error':
      return 1;
    case 'timeout':
      return 2;
    case 'no_upstream':
      return 3;
    case 'client_abort':
      return 4;
    case 'rejected':
      return 5;
    default:
      throw invalidLabel('outcome', OUTCOMES, outcome);
  }
}

/** Index of `result` in {@link HEALTH_CHECK_RESULTS}; throws `ERR_METRICS_INVALID_LABEL` otherwise. */
export function healthCheckResultIndex(result: HealthCheckResult): number {
  switch (result) {
    case 'ok':
      return 0;
    case 'bad_status':
      return 1;
    case 'error':
      return 2;
    case 'timeout':
      return 3;
    default:
      throw invalidLabel('result', HEALTH_CHECK_RESULTS, result);
  }
}

/** Index of `to` in {@link TRANSITIONS}; throws `ERR_METRICS_INVALID_LABEL` otherwise. */
export function transitionIndex(to: Transition): number {
  if (to === 'up') return 0;
  if (to === 'down') return 1;
  throw invalidLabel('to', TRANSITIONS, to);
}

/** Index of `state` in {@link UPSTREAM_STATES}; throws `ERR_METRICS_INVALID_LABEL` otherwise. */
export function upstreamStateIndex(state: UpstreamState): number {
  return closedSetIndex('state', UPSTREAM_STATES, state);
}

/** Index of `action` in {@link ADMIN_ACTIONS}; throws `ERR_METRICS_INVALID_LABEL` otherwise. */
export function adminActionIndex(action: AdminAction): number {
  return closedSetIndex('action', ADMIN_ACTIONS, action);
}

/** Index of `result` in {@link DNS_LOOKUP_RESULTS}; throws `ERR_METRICS_INVALID_LABEL` otherwise. */
export function dnsLookupResultIndex(result: DnsLookupResult): number {
  return closedSetIndex('result', DNS_LOOKUP_RESULTS, result);
}

/** Position of `value` in `allowed` (a scan of a few short strings, without allocating). */
function closedSetIndex(name: string, allowed: readonly string[], value: unknown): number {
  const i = typeof value === 'string' ? allowed.indexOf(value) : -1;
  if (i === -1) throw invalidLabel(name, allowed, value);
  return i;
}

function invalidLabel(name: string, allowed: readonly string[], got: unknown): MetricsError {
  return new MetricsError(
    'ERR_METRICS_INVALID_LABEL',
    `Expected \`${name}\` to be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${describe(got)}`,
  );
}

/** Whether `value` is a finite number of seconds from 0 up (small enough for V8 to inline on the hot path). */
export function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value < Infinity;
}

/** The `ERR_METRICS_INVALID_VALUE` error for a duration that fails {@link isSeconds}. */
export function invalidSeconds(name: string, seconds: unknown): MetricsError {
  return new MetricsError(
    'ERR_METRICS_INVALID_VALUE',
    `Expected \`${name}\` to be a finite number of seconds from 0 up, got ${describe(seconds)}`,
  );
}
