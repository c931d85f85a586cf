import { MAX_WEIGHT } from '@roundguard/roundrobin';
import { expected, isIntegerInRange } from '@roundguard/internal';
import { BalancerError } from './errors.js';

/**
 * Something to balance over: anything with a stable `key` (an upstream URL, a host name, an id) and an
 * optional `weight`. Extra fields (a URL, a connection pool, ...) ride along: `pick()` hands back the
 * very object given.
 *
 * @example
 * interface Upstream extends Target { url: string }
 * const upstreams: Upstream[] = [{ key: 'a', url: 'http://10.0.0.1:8080', weight: 2 }];
 */
export interface Target {
  /** Identifies the target across `setTargets` calls, health changes and status. Non-empty, unique in a set. */
  readonly key: string;
  /**
   * Share of picks, an integer from 0 to 1,000,000: a target of weight 3 is picked three times as often as
   * one of weight 1 (nginx's smooth weighted round robin). Weight 0 keeps a target out of rotation.
   *
   * @default 1
   */
  readonly weight?: number;
}

/** One target's health, as reported by `Balancer.status()` (a plain, JSON-ready object). */
export interface TargetStatus {
  /** The target's key. */
  readonly key: string;
  /** Whether the target is in rotation (a healthy target of weight 0 is still never picked). */
  readonly healthy: boolean;
  /** When `healthy` last changed, or when the target was added, in milliseconds since the epoch. */
  readonly since: number;
  /** When the last probe result was recorded, in milliseconds since the epoch; `null` before the first. */
  readonly lastProbeAt: number | null;
  /**
   * The latest failure: a failed probe's error (`'HTTP 500'`, `'ECONNREFUSED'`, ...) or a `markDown`
   * reason. Cleared by a successful probe; `null` when there was none.
   */
  readonly lastError: string | null;
  /** Failed probes in a row (reset by a successful probe and by `markUp`). */
  readonly consecutiveFailures: number;
  /** Successful probes in a row (reset by a failed probe and when the target goes down). */
  readonly consecutiveSuccesses: number;
  /** The target's weight (1 when not given). */
  readonly weight: number;
}

/** Validates a target and returns its effective weight. */
export function targetWeight(target: unknown, index: number): number {
  if (target === null || typeof target !== 'object') {
    throw new BalancerError(
      'ERR_BALANCER_INVALID_TARGET',
      expected(`target ${index}`, 'an object with a string `key`', target),
    );
  }
  const { key, weight } = target as { key?: unknown; weight?: unknown };
  if (typeof key !== 'string' || key.length === 0) {
    throw new BalancerError(
      'ERR_BALANCER_INVALID_TARGET',
      expected(`\`key\` of target ${index}`, 'a non-empty string', key),
    );
  }
  if (weight === undefined) return 1;
  if (!isIntegerInRange(weight, 0, MAX_WEIGHT)) {
    throw new BalancerError(
      'ERR_BALANCER_INVALID_TARGET',
      expected(`\`weight\` of target ${JSON.stringify(key)}`, `an integer from 0 to ${MAX_WEIGHT}`, weight),
    );
  }
  return weight;
}
