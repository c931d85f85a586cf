import { types } from 'node:util';

/** The shape an `Error` takes in a record. */
export interface SerializedError {
  /** `err.name`, e.g. `TypeError`. */
  name: string;
  /** `err.message`. */
  message: string;
  /** `err.code` when there is one, e.g. `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`. */
  code?: unknown;
  /** `err.cause` when there is one: serialized again if it is an `Error`, as any value otherwise. */
  cause?: unknown;
  /** The inner errors of an `AggregateError` (Node's connect can fail with one, one per address). */
  errors?: unknown[];
  /** `err.stack`. */
  stack?: string;
}

/** Whether `value` is an `Error` (from this realm or another one). */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/**
 * The fields of `err` worth logging, as a plain object. The `cause` and `errors` values are left as they
 * are: the record serializer turns nested errors into this shape too, and stops on a cycle.
 *
 * @example
 * serializeError(new Error('boom', { cause: new Error('root') }));
 * // { name: 'Error', message: 'boom', cause: Error('root'), stack: 'Error: boom\n    at ...' }
 */
export function serializeError(err: Error): SerializedError {
  const e = err as Error & { code?: unknown; errors?: unknown };
  const out: SerializedError = { name: String(e.name), message: String(e.message) };
  if (e.code !== undefined) out.code = e.code;
  if (e.cause !== undefined) out.cause = e.cause;
  if (Array.isArray(e.errors)) out.errors = e.errors as unknown[];
  if (e.stack !== undefined) out.stack = String(e.stack);
  return out;
}
