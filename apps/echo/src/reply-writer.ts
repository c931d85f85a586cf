// How a response the echo handler has decided goes on the wire: its headers, and its body in as few
// writes as possible.
import type { ServerResponse } from 'node:http';
import type { EchoRequest } from './echo-request.js';

const JSON_TYPE = 'application/json';

/** Bodies up to this size are written as latin1 strings (see {@link writeReply}). */
const SMALL_BODY = 16 * 1024;

/** Writes the decided response of `req` (`req.status`, `req.allow`) with `body`, named `name`. */
export function writeReply(req: EchoRequest, body: Buffer, name: string, close: boolean): void {
  const res = req.response as ServerResponse;
  const headers = ['Content-Type', JSON_TYPE, 'Content-Length', String(body.length), 'X-Echo-Name', name];
  if (req.allow !== undefined) headers.push('Allow', req.allow);
  if (close) headers.push('Connection', 'close');
  res.writeHead(req.status, headers);
  if (body.length <= SMALL_BODY) {
    // A latin1 string maps each byte to one char and back, so the bytes are unchanged; and a string body
    // goes out in one write() together with the head, where a Buffer takes a writev() of head and body.
    res.end(body.toString('latin1'), 'latin1');
  } else {
    res.end(body);
  }
}
