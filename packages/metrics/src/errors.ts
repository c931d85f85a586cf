/** Stable codes carried by every {@link MetricsError}. Match on `err.code`, not on `instanceof`. */
export type MetricsErrorCode =
  /** An option of `createMetrics`, `createHttpServerMetrics` or `metricsHandler` has a wrong type or value. */
  | 'ERR_METRICS_INVALID_OPTION'
  /** A label value passed at record time is outside its closed set (an unknown outcome, health-check result, ...). */
  | 'ERR_METRICS_INVALID_LABEL'
  /** A recorded value is not a finite number of seconds from 0 up (`NaN`, `Infinity`, negative). */
  | 'ERR_METRICS_INVALID_VALUE'
  /** The registry already holds a metric with one of the names this package would register. */
  | 'ERR_METRICS_ALREADY_REGISTERED';

/**
 * The one error class thrown by this package. It is a `TypeError` (every case is a bad argument or
 * option given by the caller), with a stable `code`, a `name` and, when it wraps another error, a `cause`.
 *
 * Callers should match on `err.code`: an application can end up with both the ESM and the CommonJS copy
 * of this package loaded, and then `instanceof` fails across them.
 *
 * @example
 * try {
 *   createMetrics({ prefix: 'my-app' });
 * } catch (err) {
 *   if ((err as MetricsError).code === 'ERR_METRICS_INVALID_OPTION') console.error(err.message);
 * }
 */
export class MetricsError extends TypeError {
  override readonly name = 'MetricsError';
  readonly code: MetricsErrorCode;

  constructor(code: MetricsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Renders a received value for an error message: `` `-1` (number) ``; the one copy the libraries share. */
export { describe } from '@roundguard/internal';
