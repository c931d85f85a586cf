// The write path to the client: what the proxy writes to one client connection within one turn of the
// event loop leaves in one write, at the end of that turn, while a response stays small; bigger ones are
// streamed as they come, with back-pressure (see exchange.ts, `onData`), and one whose Content-Length
// says it is bigger is not held at all (`mayCoalesce`).
//
// Why: under load one turn reads the answers of many upstreams. Writing each as soon as it is ready puts
// a `write(2)` between the handling of every answer, and each one may wake the client on another CPU,
// which then goes back to sleep before the next. Holding the turn's writes and sending them back to back
// at its end (the echo app's EndOfTurnBatch, done here by corking the socket) lets a client find several
// answers per wake-up, and pipelined answers of one connection leave in one `writev(2)`. Nothing is
// reordered: Node writes a connection's responses in request order whether its socket is corked or not.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { onResDrain } from './exchange-listeners.js';
import { Kind, kindOf } from './header-rules.js';

/**
 * Response body bytes held for the end of the turn at most: past this, the socket is uncorked at once and
 * the response streams (a large body gains nothing from waiting, and would hold memory).
 */
export const COALESCE_LIMIT = 16 * 1024;

/**
 * Response bytes that may wait in the client connection's buffers before the upstream is paused: one
 * 64 KiB socket read, at most, is held per request (the README: a small bounded buffer per request).
 */
export const RESPONSE_BUFFER_LIMIT = 64 * 1024;

const kCorked = Symbol('roundguard.corkedUntilEndOfTurn');

type CorkableSocket = Socket & { [kCorked]?: boolean };

let corked: CorkableSocket[] = [];
let spareCorked: CorkableSocket[] = [];
let ending: ServerResponse[] = [];
let spareEnding: ServerResponse[] = [];
let scheduled = false;

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(endOfTurn);
  }
}

/**
 * Whether a response with these headers (the flat `[name, value, ...]` array written to the client) may
 * be held for the end of the turn: not when its Content-Length declares a body past
 * {@link COALESCE_LIMIT}. Such a response streams from its first byte, as a large one should: holding
 * it would only delay its head until its first big chunk uncorks the socket.
 */
export function mayCoalesce(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (kindOf(headers[i] as string) === Kind.ContentLength)
      return !(Number(headers[i + 1]) > COALESCE_LIMIT);
  }
  return true;
}

/**
 * Holds what is written to `socket` from now until the end of this turn of the event loop (once per
 * socket and turn; a destroyed socket is left alone).
 */
export function corkUntilEndOfTurn(s: CorkableSocket | null): void {
  if (s === null || s[kCorked] === true || s.destroyed) return;
  s[kCorked] = true;
  s.cork();
  corked.push(s);
  schedule();
}

/** Sends what `socket` holds now instead of at the end of the turn (a response grew past the limit). */
export function uncorkNow(s: CorkableSocket | null): void {
  if (s === null || s[kCorked] !== true) return;
  s[kCorked] = false;
  // res.end() uncorks its socket fully: then there is nothing left of this cork to take back.
  if (s.writableCorked > 0) s.uncork();
}

/**
 * Ends the response of `w`: at the end of the turn while its body is small (Node's `res.end()` uncorks
 * the socket fully, so ending at once would send it at once), now when it was streamed.
 */
export function endResponse(w: BodyWriter): void {
  if (w.bytesOut > COALESCE_LIMIT) return void w.res.end();
  ending.push(w.res);
  schedule();
}

/**
 * End of the turn (setImmediate: after every socket readable in it was read): the responses of the turn
 * are ended, each one's head and body leaving in one write, back to back; then what other sockets held.
 */
function endOfTurn(): void {
  scheduled = false;
  const ends = ending;
  ending = spareEnding;
  spareEnding = ends;
  const socks = corked;
  corked = spareCorked;
  spareCorked = socks;
  for (let i = 0; i < ends.length; i++) {
    const res = ends[i];
    if (res === undefined || res.destroyed || res.writableEnded) continue;
    try {
      res.end();
    } catch {
      res.destroy(); // a write that throws at once: this response is lost, the others still go out
    }
  }
  ends.length = 0;
  for (let i = 0; i < socks.length; i++) {
    const s = socks[i];
    if (s === undefined) continue;
    try {
      uncorkNow(s); // on a destroyed socket this only lowers its cork count: its writes were dropped
    } catch {
      s.destroy();
    }
  }
  socks.length = 0;
}

/** The exchange whose response body is written (see exchange.ts). */
export interface BodyWriter {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  bytesOut: number;
  /** The upstream is paused until the client takes what waits for it ('drain'). */
  paused: boolean;
  drainListening: boolean;
}

/**
 * Writes a chunk of the upstream's response body to the client; false pauses the upstream (undici's
 * back-pressure). A response that grows past {@link COALESCE_LIMIT} stops waiting for the end of the turn.
 */
export function writeResponseBody(w: BodyWriter, chunk: Buffer): boolean {
  w.bytesOut += chunk.length;
  const res = w.res;
  if (w.bytesOut > COALESCE_LIMIT) uncorkNow(w.req.socket);
  // res.write() returns false for any chunk of 16 KiB or more, even one the kernel took at once:
  // pausing undici then (its parser stops, the rest of the read is put back, reading resumes on
  // 'drain') cost more than forwarding the bytes. Back-pressure is applied once more than
  // RESPONSE_BUFFER_LIMIT is really waiting to be sent to the client.
  if (res.write(chunk) || res.writableLength <= RESPONSE_BUFFER_LIMIT) return true;
  w.paused = true;
  if (!w.drainListening) {
    w.drainListening = true;
    res.on('drain', onResDrain);
  }
  return false;
}
