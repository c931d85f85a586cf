import { optionChecks, type OptionChecks } from '@roundguard/internal';

/** Stable codes carried by every {@link LoggerError}. Match on `err.code`, not on `instanceof`. */
export type LoggerErrorCode =
  /** An option given to `createLogger` has the wrong type or an unknown value. */
  | 'ERR_LOGGER_INVALID_OPTION'
  /** `logger.log(level, ...)` was called with a level that is not one of the four. */
  | 'ERR_LOGGER_INVALID_LEVEL'
  /** `logger.child(fields)` was called with something that is not a plain object. */
  | 'ERR_LOGGER_INVALID_FIELDS';

/**
 * The one error class thrown by this package, for programming errors only (bad options, unknown level).
 * Logging a record never throws: a value that cannot be serialized is replaced, see the README.
 *
 * It is a `TypeError` with a stable `code`. Callers should match on `err.code`: an application can end
 * up with both the ESM and the CommonJS copy of this package loaded, and `instanceof` fails across them.
 *
 * @example
 * try { createLogger({ level: 'verbose' as never }) }
 * catch (err) { if (err.code === 'ERR_LOGGER_INVALID_OPTION') ... }
 */
export class LoggerError extends TypeError {
  override readonly name = 'LoggerError';
  readonly code: LoggerErrorCode;

  constructor(code: LoggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The checks of `createLogger`'s options, throwing `ERR_LOGGER_INVALID_OPTION`. */
export const option: OptionChecks = optionChecks(
  (message) => new LoggerError('ERR_LOGGER_INVALID_OPTION', message),
);
