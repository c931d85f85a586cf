// The one error class of the dashboard: bad arguments given to the traffic history or the dashboard.

/** Stable codes carried by every {@link DashboardError}. Match on `err.code`. */
export type DashboardErrorCode =
  /** An option given to `new TrafficHistory()` or `createDashboard()` is missing, of the wrong type or out of range. */
  | 'ERR_DASHBOARD_INVALID_OPTION'
  /** A value given to a method (an upstream name, a status code, a duration) is of the wrong type or out of range. */
  | 'ERR_DASHBOARD_INVALID_ARGUMENT';

/** Bad input to the dashboard's components: a `TypeError` with a stable `code` and the value received. */
export class DashboardError extends TypeError {
  override readonly name = 'DashboardError';
  readonly code: DashboardErrorCode;

  constructor(code: DashboardErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Renders a received value for an error message: `` `-1` (number) ``. */
export function shown(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    text = String(value);
  else if (value === null) return '`null`';
  else if (value === undefined) return '`undefined`';
  else if (typeof value === 'function') return 'a function';
  else text = Object.prototype.toString.call(value);
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${typeof value})`;
}
