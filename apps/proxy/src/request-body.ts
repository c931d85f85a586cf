// How a request body reaches the upstream: one of known length up to SMALL_BODY_LIMIT is read whole
// first and sent with the head in one write; a bigger or chunked one is streamed by undici with
// back-pressure (see exchange.ts). The listeners are module-level functions (no closure per request).
import type { IncomingMessage } from 'node:http';

/**
 * Request bodies of a known length up to this size are read into one Buffer before they are sent
 * upstream (nginx's client_body_buffer_size idea, bounded): undici then writes head and body in one
 * syscall instead of streaming them. Bigger or chunked bodies are streamed with back-pressure: reading a
 * larger body first costs more CPU per request than streaming it, so the limit is the size of one
 * stream chunk.
 */
export const SMALL_BODY_LIMIT = 16 * 1024;

/** Who a small body is read for: an Exchange. */
export interface BodyReader {
  /** Body bytes read from the client so far. */
  bytesIn: number;
  /** The chunks read so far (null before the first). */
  bodyChunks: Buffer[] | null;
  /** The request ended, or its client left, before the body was read: it is not sent. */
  readonly abandoned: boolean;
  /** Sends the request with this body. */
  send(body: Buffer | null): void;
}

const kReader = Symbol('roundguard.bodyReader');

type ReqWithReader = IncomingMessage & { [kReader]?: BodyReader };

/** Reads the body of `req` whole, then hands it to `reader.send()`. */
export function readSmallBody(req: IncomingMessage, reader: BodyReader): void {
  (req as ReqWithReader)[kReader] = reader;
  req.on('data', onSmallBodyData);
  req.on('end', onSmallBodyEnd);
}

function onSmallBodyData(this: ReqWithReader, chunk: Buffer): void {
  const reader = this[kReader];
  if (reader === undefined) return;
  reader.bytesIn += chunk.length;
  if (reader.bodyChunks === null) reader.bodyChunks = [chunk];
  else reader.bodyChunks.push(chunk);
}

function onSmallBodyEnd(this: ReqWithReader): void {
  const reader = this[kReader];
  if (reader === undefined || reader.abandoned) return;
  const chunks = reader.bodyChunks;
  reader.bodyChunks = null;
  reader.send(chunks === null ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
}
