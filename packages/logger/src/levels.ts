/** The four severities, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** `json` (one object per line), `pretty` (colored one-line text), or `auto` (pretty on a TTY, else JSON). */
export type LogFormat = 'json' | 'pretty' | 'auto';

/** Every {@link LogLevel}, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['error', 'warn', 'info', 'debug'] as const);

/** Every {@link LogFormat}. */
export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(['json', 'pretty', 'auto'] as const);

/**
 * Numeric priority of each level, as winston's `levels` config wants it: lower is more severe, and a
 * logger set to level `L` writes every record whose priority is at most `L`'s.
 */
export const LEVEL_PRIORITY: Readonly<Record<LogLevel, number>> = Object.freeze({
  error: 0,
  warn: 1,
  info: 2,
  debug: 3,
});

/**
 * Whether `x` is one of `'error'`, `'warn'`, `'info'`, `'debug'`. Handy to validate a level read from
 * a flag or an environment variable.
 *
 * @example
 * const level = process.env.LOG_LEVEL;
 * createLogger({ level: isLogLevel(level) ? level : 'info' });
 */
export function isLogLevel(x: unknown): x is LogLevel {
  return x === 'error' || x === 'warn' || x === 'info' || x === 'debug';
}

/**
 * Whether `x` is one of `'json'`, `'pretty'`, `'auto'`.
 *
 * @example
 * isLogFormat('pretty'); // true
 * isLogFormat('text'); // false
 */
export function isLogFormat(x: unknown): x is LogFormat {
  return x === 'json' || x === 'pretty' || x === 'auto';
}
