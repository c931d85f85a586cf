import { BatchedFdStream } from './batched-fd-stream.js';
import { isTty, resolveColor } from './color.js';
import { DestinationTransport } from './destination-transport.js';
import { expected } from '@roundguard/internal';
import { LoggerError, option } from './errors.js';
import { DirectRecordWriter } from './json-bytes.js';
import { JsonFormatter } from './json-format.js';
import { isLogFormat, isLogLevel, LEVEL_PRIORITY, LOG_LEVELS, type LogLevel } from './levels.js';
import { PrettyFormatter } from './pretty-format.js';
import { NO_BOUND_FIELDS, type BoundFields, type RecordFormatter } from './record-formatter.js';
import { Redactor } from './redact.js';
import { isError } from './serialize-error.js';
import type { LogFields, Logger, LoggerOptions } from './types.js';

/** What a root logger and all its children share. */
interface Core {
  readonly level: LogLevel;
  readonly threshold: number;
  readonly formatter: RecordFormatter;
  /**
   * The winston transport every line goes to. Records are handed to it directly, not through a
   * `winston.Logger` (a readable-stream Transform piped to the transport): that pipeline costs more
   * per record than serializing it, see the README's benchmark.
   */
  readonly transport: DestinationTransport;
  /**
   * Set for JSON lines into a {@link BatchedFdStream}: records are encoded straight into its buffer
   * when they can be, skipping the line string. Records it declines take the string path.
   */
  readonly direct: DirectRecordWriter | undefined;
}

class StructuredLogger implements Logger {
  readonly #core: Core;
  readonly #bound: BoundFields;

  constructor(core: Core, bound: BoundFields) {
    this.#core = core;
    this.#bound = bound;
  }

  get level(): LogLevel {
    return this.#core.level;
  }

  error(msg: string, fields?: LogFields): void {
    if (this.#core.threshold >= 0) this.#write('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.#core.threshold >= 1) this.#write('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.#core.threshold >= 2) this.#write('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.#core.threshold >= 3) this.#write('debug', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!isLogLevel(level)) {
      throw new LoggerError(
        'ERR_LOGGER_INVALID_LEVEL',
        expected('`level`', `one of ${LOG_LEVELS.map((l) => `"${l}"`).join(', ')}`, level),
      );
    }
    if (this.#core.threshold >= LEVEL_PRIORITY[level]) this.#write(level, msg, fields);
  }

  isLevelEnabled(level: LogLevel): boolean {
    return isLogLevel(level) && this.#core.threshold >= LEVEL_PRIORITY[level];
  }

  child(fields: LogFields): Logger {
    if (!isFieldsObject(fields)) {
      throw new LoggerError('ERR_LOGGER_INVALID_FIELDS', expected('`fields`', 'an object of fields', fields));
    }
    return new StructuredLogger(this.#core, bind(this.#core.formatter, { ...this.#bound.fields, ...fields }));
  }

  flush(): Promise<void> {
    return this.#core.transport.drained();
  }

  #write(level: LogLevel, msg: unknown, fields: unknown): void {
    const core = this.#core;
    const now = Date.now();
    if (
      core.direct !== undefined &&
      typeof msg === 'string' &&
      core.direct.write(now, level, msg, this.#bound, fields)
    ) {
      return;
    }
    let line: string;
    try {
      if (typeof msg !== 'string' || (fields !== undefined && !isFieldsObject(fields))) {
        [msg, fields] = normalize(msg, fields);
      }
      line = core.formatter.format(now, level, msg as string, this.#bound, fields as LogFields | undefined);
    } catch (err) {
      line = fallbackLine(core.formatter, now, level, msg, this.#bound, err);
    }
    core.transport.writeLine(line);
  }
}

function isFieldsObject(x: unknown): x is LogFields {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !isError(x);
}

/** Makes sense of calls that do not match the types: `log.error(err)`, `log.info('x', err)`, `log.info('x', 42)`. */
function normalize(msg: unknown, fields: unknown): [string, LogFields | undefined] {
  let extra: LogFields | undefined;
  if (fields === undefined || fields === null) extra = undefined;
  else if (isError(fields)) extra = { err: fields };
  else if (isFieldsObject(fields)) extra = fields;
  else extra = { value: fields };
  if (typeof msg === 'string') return [msg, extra];
  if (isError(msg)) return [msg.message, { err: msg, ...extra }];
  return [safeString(msg), extra];
}

function safeString(x: unknown): string {
  try {
    return String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

/** The line written when a record's fields cannot be serialized (a throwing getter or `toJSON`). */
function fallbackLine(
  formatter: RecordFormatter,
  now: number,
  level: LogLevel,
  msg: unknown,
  bound: BoundFields,
  err: unknown,
): string {
  const reason = isError(err) ? safeString(err.message) : safeString(err);
  return formatter.format(now, level, typeof msg === 'string' ? msg : safeString(msg), bound, {
    logger_error: `fields could not be serialized: ${reason}`,
  });
}

function bind(formatter: RecordFormatter, fields: LogFields): BoundFields {
  const keys = Object.keys(fields);
  if (keys.length === 0) return NO_BOUND_FIELDS;
  let fragment: string;
  try {
    fragment = formatter.bind(fields);
  } catch (err) {
    const reason = isError(err) ? safeString(err.message) : safeString(err);
    fragment = formatter.bind({ logger_error: `bound fields could not be serialized: ${reason}` });
  }
  return { fields, fragment, fragmentBytes: Buffer.from(fragment, 'utf8'), keys: new Set(keys) };
}

/**
 * Creates a logger.
 *
 * @throws {LoggerError} `ERR_LOGGER_INVALID_OPTION` when an option has the wrong type or value; the
 * message names the option and the value received.
 * @example
 * import { createLogger } from '@roundguard/logger';
 *
 * const logger = createLogger({ name: 'proxy', level: 'info' });
 * logger.info('listening', { port: 8080 });
 * const log = logger.child({ req_id: 'b7c1' });
 * log.info('request completed', { method: 'GET', status: 200, duration_ms: 1.8 });
 * await logger.flush();
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  option.object(options, 'options');
  const {
    format = 'auto',
    level = 'info',
    name,
    destination = process.stdout,
    color,
    fields = {},
    redactKeys = [],
  } = options;
  if (!isLogFormat(format)) option.invalid('format', 'one of "json", "pretty", "auto"', format);
  if (!isLogLevel(level)) option.invalid('level', 'one of "error", "warn", "info", "debug"', level);
  if (name !== undefined && typeof name !== 'string') option.invalid('name', 'a string', name);
  if (
    typeof destination !== 'object' ||
    destination === null ||
    typeof (destination as { write?: unknown }).write !== 'function' ||
    typeof (destination as { once?: unknown }).once !== 'function'
  ) {
    option.invalid('destination', 'a writable stream', destination);
  }
  if (color !== undefined) option.boolean('color', color);
  if (!isFieldsObject(fields)) option.invalid('fields', 'an object of fields', fields);
  if (!Array.isArray(redactKeys) || !redactKeys.every((k) => typeof k === 'string')) {
    option.invalid('redactKeys', 'an array of strings', redactKeys);
  }

  const redactor = new Redactor(redactKeys);
  const pretty = format === 'pretty' || (format === 'auto' && isTty(destination));
  const json = pretty ? undefined : new JsonFormatter(name, redactor);
  const formatter: RecordFormatter =
    json ?? new PrettyFormatter(name, redactor, resolveColor(color, destination, process.env));
  const transport = new DestinationTransport(destination);
  // A BatchedFdStream never pushes back (its write() returns false only once closed), so records
  // written past the transport cannot overtake a backlog.
  const direct =
    json !== undefined && destination instanceof BatchedFdStream
      ? new DirectRecordWriter(json.byteEncoder(), destination)
      : undefined;
  const core: Core = { level, threshold: LEVEL_PRIORITY[level], formatter, transport, direct };
  return new StructuredLogger(core, bind(formatter, { ...fields }));
}
