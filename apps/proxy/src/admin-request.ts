// What every admin write request goes through before it is looked at: the token (403 without one
// configured, 401 without the right one), the content type (415) and a bounded JSON body (413, 400).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendErrorMessage, type ProxyErrorCode } from './errors.js';

/** The largest write request body read, in bytes: an upstream or a change is a few dozen. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

/** A refused admin request: its code, message and extra headers. */
export class AdminRefusal extends Error {
  readonly code: ProxyErrorCode;
  readonly headers: readonly string[];
  constructor(code: ProxyErrorCode, message: string, headers: readonly string[] = []) {
    super(message);
    this.name = 'AdminRefusal';
    this.code = code;
    this.headers = headers;
  }
}

/** Answers a refusal; a request whose body was not read closes the connection. */
export function refuse(res: ServerResponse, refusal: AdminRefusal): void {
  if (res.headersSent) return void res.destroy();
  sendErrorMessage(res, refusal.code, refusal.message, refusal.headers);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer TOKEN` in constant time: both sides are hashed first, so neither the
 * token's length nor where it differs shows in the time taken.
 */
export function tokenChecker(token: string | undefined): (req: IncomingMessage) => void {
  const expected = token === undefined ? undefined : digest(token);
  return (req) => {
    if (expected === undefined) throw new AdminRefusal('ADMIN_READ_ONLY', READ_ONLY);
    const header = req.headers.authorization ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const given = digest(match?.[1] ?? '');
    if (!timingSafeEqual(given, expected) || match === null) {
      throw new AdminRefusal(
        'UNAUTHORIZED',
        header === '' ? 'a bearer token is required' : 'the bearer token is not valid',
        ['www-authenticate', 'Bearer realm="roundguard admin"'],
      );
    }
  };
}

const READ_ONLY = 'the admin API is read-only: start the proxy with --admin-token to enable changes';

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Reads a JSON object body: 415 without `Content-Type: application/json`, 413 above
 * {@link MAX_ADMIN_BODY_BYTES} (from Content-Length before reading, else by counting), 400
 * `BAD_REQUEST` when it is not JSON or not an object.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!isJson(req.headers['content-type'])) {
    throw new AdminRefusal(
      'UNSUPPORTED_MEDIA_TYPE',
      `expected Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? '(none)')}`,
    );
  }
  const tooLarge = () =>
    new AdminRefusal('PAYLOAD_TOO_LARGE', `the body is larger than ${MAX_ADMIN_BODY_BYTES} bytes`, [
      'connection',
      'close',
    ]);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_ADMIN_BODY_BYTES) throw tooLarge();
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_ADMIN_BODY_BYTES) return void chunks.push(chunk);
      // Stop reading (the answer closes the connection) rather than destroy it before the 413 is out.
      req.off('data', onData);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AdminRefusal('BAD_REQUEST', 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new AdminRefusal('BAD_REQUEST', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}
