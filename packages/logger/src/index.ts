export { createLogger } from './create-logger.js';
export type { Logger, LoggerOptions, LogFields } from './types.js';
export { isLogLevel, isLogFormat, LOG_LEVELS, LOG_FORMATS, type LogLevel, type LogFormat } from './levels.js';
export { LoggerError, type LoggerErrorCode } from './errors.js';
export { REDACTED, DEFAULT_REDACT_KEYS } from './redact.js';
export { serializeError, type SerializedError } from './serialize-error.js';
export { BatchedFdStream } from './batched-fd-stream.js';
