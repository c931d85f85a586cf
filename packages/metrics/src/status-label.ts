/** Number of distinct `code` label values: `100` … `599`, then `other`. */
export const STATUS_LABEL_COUNT = 501;

const STATUS_LABELS: readonly string[] = Object.freeze(
  Array.from({ length: STATUS_LABEL_COUNT }, (_, i) => (i < 500 ? String(100 + i) : 'other')),
);

/**
 * Position of `status` among the `code` label values: `status - 100` for an integer from 100 to 599,
 * `500` (the `other` value) for anything else. Allocation-free.
 */
export function statusIndex(status: number): number {
  return status >= 100 && status <= 599 && Math.floor(status) === status ? status - 100 : 500;
}

/** The `code` label value at `index` (see {@link statusIndex}). */
export function statusLabelAt(index: number): string {
  return STATUS_LABELS[index] ?? 'other';
}

/**
 * Maps an HTTP status code to its `code` label value.
 *
 * An integer from 100 to 599 is its decimal spelling. Anything else (0 for "no response was sent",
 * 600 and up, fractions, `NaN`) is `'other'`, so the label set stays bounded and a bogus number cannot
 * masquerade as a real status.
 *
 * @param status the response status, e.g. `res.statusCode`.
 * @returns `'100'` … `'599'`, or `'other'`.
 * @example
 * normalizeStatus(200); // '200'
 * normalizeStatus(0);   // 'other'
 * normalizeStatus(999); // 'other'
 */
export function normalizeStatus(status: number): string {
  return statusLabelAt(statusIndex(status));
}
