import type { LogFormat, LogLevel } from './levels.js';

/**
 * Structured fields of a record: any JSON-like values, plus `Error`s (serialized with name, message,
 * code, cause and stack), `Date`s, `Map`s, `Set`s, bigints. A field whose value is `undefined` is left
 * out of the record.
 */
export type LogFields = Record<string, unknown>;

/** Options of {@link createLogger}. Every one is optional. */
export interface LoggerOptions {
  /**
   * `json` writes one JSON object per line; `pretty` writes one colored line of text per record; `auto`
   * picks `pretty` when `destination` is a TTY (`destination.isTTY === true`) and `json` otherwise.
   *
   * @default 'auto'
   * @example
   * createLogger({ format: process.env.NODE_ENV === 'production' ? 'json' : 'pretty' });
   */
  format?: LogFormat;
  /**
   * The least severe level written: `error` < `warn` < `info` < `debug`. Records below it cost a
   * comparison and are not serialized.
   *
   * @default 'info'
   * @example
   * createLogger({ level: 'debug' });
   */
  level?: LogLevel;
  /**
   * The component that writes, as the `name` key of every record (after `level`). Left out of
   * records when not given.
   *
   * @default undefined
   * @example
   * createLogger({ name: 'proxy' }).info('listening'); // {"time":"...","level":"info","name":"proxy","msg":"listening"}
   */
  name?: string;
  /**
   * Where lines are written: any writable stream in text/bytes mode (a file stream, a socket, a
   * `PassThrough` in tests). Each record is one `write()` of one line ending in `\n`. Back-pressure is
   * respected: see {@link Logger.flush} and the README.
   *
   * @default process.stdout
   * @example
   * createLogger({ destination: fs.createWriteStream('access.log', { flags: 'a' }) });
   */
  destination?: NodeJS.WritableStream;
  /**
   * Whether `pretty` lines carry ANSI colors (ignored by `json`). When not given: on if `FORCE_COLOR` is
   * `''`, `1`, `2`, `3` or `true`; off if `FORCE_COLOR` has another value, or if `NO_COLOR` is set and
   * not empty; otherwise on when the destination is a color-capable TTY.
   *
   * @default from FORCE_COLOR / NO_COLOR, else destination.isTTY
   * @example
   * createLogger({ format: 'pretty', color: false });
   */
  color?: boolean;
  /**
   * Fields bound to every record of this logger and its children (serialized once, here).
   *
   * @default {}
   * @example
   * createLogger({ fields: { pid: process.pid, host: os.hostname() } });
   */
  fields?: LogFields;
  /**
   * Keys whose values are redacted, in addition to `authorization`, `proxy-authorization`, `cookie` and
   * `set-cookie` (which always are). Compared without regard to case, at any depth.
   *
   * @default []
   * @example
   * createLogger({ redactKeys: ['x-api-key', 'password'] });
   */
  redactKeys?: readonly string[];
}

/** A structured logger. Get one from {@link createLogger}; derive more with {@link Logger.child}. */
export interface Logger {
  /** The least severe level this logger writes (shared with its children). */
  readonly level: LogLevel;
  /** Writes a record at level `error`. */
  error(msg: string, fields?: LogFields): void;
  /** Writes a record at level `warn`. */
  warn(msg: string, fields?: LogFields): void;
  /** Writes a record at level `info`. */
  info(msg: string, fields?: LogFields): void;
  /** Writes a record at level `debug`. */
  debug(msg: string, fields?: LogFields): void;
  /**
   * Writes a record at `level`.
   *
   * @throws {LoggerError} `ERR_LOGGER_INVALID_LEVEL` when `level` is not one of the four.
   */
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** Whether a record at `level` would be written: guard costly field computations with it. */
  isLevelEnabled(level: LogLevel): boolean;
  /**
   * A logger writing to the same destination, at the same level, with `fields` bound to every record
   * (after this logger's own bound fields; a key given again replaces the parent's value).
   *
   * @throws {LoggerError} `ERR_LOGGER_INVALID_FIELDS` when `fields` is not an object.
   * @example
   * const log = logger.child({ req_id: id });
   * log.info('request completed', { status: 200 });
   */
  child(fields: LogFields): Logger;
  /**
   * Resolves once every record logged so far has been handed to the destination, and the destination
   * has written out what it buffered (when it is a Node.js stream). Await it before `process.exit()`.
   * Never rejects; resolves at once if the destination has been closed.
   */
  flush(): Promise<void>;
}
