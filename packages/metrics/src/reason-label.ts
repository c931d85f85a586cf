const REASON = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Maps an upstream error reason to its `reason` label value.
 *
 * Error codes such as `ECONNREFUSED` or `UND_ERR_HEADERS_TIMEOUT` (an upper-case letter, then up to 63
 * upper-case letters, digits or underscores) are kept; anything else, including messages, lower-case text
 * and non-strings, becomes `'OTHER'`, so a stray error message never turns into a new time series.
 *
 * `UpstreamMetrics.upstreamError` also caps the distinct reasons per upstream (see
 * {@link MAX_REASONS_PER_UPSTREAM}).
 *
 * @param reason an error code, typically `err.code`.
 * @returns the code, or `'OTHER'`.
 * @example
 * normalizeReason('ECONNREFUSED');         // 'ECONNREFUSED'
 * normalizeReason('connect ECONNREFUSED'); // 'OTHER'
 * normalizeReason('econnrefused');         // 'OTHER'
 */
export function normalizeReason(reason: string): string {
  return typeof reason === 'string' && REASON.test(reason) ? reason : 'OTHER';
}

/**
 * Most distinct `reason` values recorded per upstream (not counting `OTHER`); further new reasons are
 * counted as `OTHER`. Bounds `roundguard_upstream_errors_total` even when codes are generated.
 *
 * @example
 * MAX_REASONS_PER_UPSTREAM; // 32
 */
export const MAX_REASONS_PER_UPSTREAM = 32;
