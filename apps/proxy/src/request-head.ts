// The request head, read once per request: everything the validation, the header rules, the exchange
// and the access log need to know about a request, from one walk over its raw headers. Immutable once
// read; the listener reads it, and every later step is handed the same object.
//
// Hot path: one object per request, no closure; header names are classified without allocating (see
// header-rules.ts), and an absolute-form target is split once, here.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  clientAddress,
  connectionTokens,
  isProtected,
  isSaneRequestId,
  Kind,
  kindOf,
  type ForwardingFacts,
} from './header-rules.js';
import { absoluteForm, isOriginForm, type AbsoluteForm } from './request-target.js';

/** The parts of a request its head is read from (an IncomingMessage, or its parts in a unit test). */
export type HeadSource = Pick<
  IncomingMessage,
  'rawHeaders' | 'method' | 'url' | 'httpVersionMajor' | 'httpVersionMinor'
> & { readonly socket: { readonly remoteAddress?: string | undefined } | null };

export class RequestHead implements ForwardingFacts {
  readonly method: string;
  /** The request target as sent. */
  readonly url: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** `performance.now()` when the request reached the handler. */
  readonly startedAt: number;
  readonly clientIp: string;
  /** The client's X-Request-Id when it sent exactly one sane one, else undefined. */
  readonly clientRequestId: string | undefined;
  /** The client's sane X-Request-Id, or a generated UUID: sent upstream, returned and logged. */
  readonly requestId: string;
  /** The Host header value ('' when absent). */
  readonly host: string;
  /** Number of Host headers seen. */
  readonly hostCount: number;
  /** Content-Length value as sent ('' when absent). */
  readonly contentLength: string;
  /** Number of Content-Length headers seen. */
  readonly contentLengthCount: number;
  /** Transfer-Encoding values as sent, joined ('' when absent or empty). */
  readonly transferEncoding: string;
  /** Number of Transfer-Encoding headers seen (an empty one counts: it is not the same as none). */
  readonly transferEncodingCount: number;
  /** Names the Connection header lists, to drop both ways (never Host or the framing headers). */
  readonly dropped: ReadonlySet<string> | undefined;
  /** The Content-Length (meaningful once validated), -1 for a chunked body, 0 for none. */
  readonly bodyLength: number;
  /** The absolute-form target split (undefined for origin form, or a target the proxy refuses). */
  readonly absolute: AbsoluteForm | undefined;
  /** The origin-form target sent upstream; undefined when the target is neither origin- nor absolute-form. */
  readonly target: string | undefined;

  constructor(req: HeadSource, startedAt: number) {
    const raw = req.rawHeaders;
    let dropped: Set<string> | undefined;
    let requestIds = 0;
    let clientRequestId: string | undefined;
    let host = '';
    let hostCount = 0;
    let contentLength = '';
    let contentLengthCount = 0;
    let transferEncoding = '';
    let transferEncodingCount = 0;
    for (let i = 0; i < raw.length; i += 2) {
      switch (kindOf(raw[i] as string)) {
        case Kind.Connection:
          dropped = connectionTokens(raw[i + 1] as string, dropped);
          break;
        case Kind.Host:
          hostCount++;
          host = raw[i + 1] as string;
          break;
        case Kind.ContentLength:
          contentLengthCount++;
          contentLength = raw[i + 1] as string;
          break;
        case Kind.TransferEncoding:
          transferEncodingCount++;
          transferEncoding =
            transferEncoding === '' ? (raw[i + 1] as string) : `${transferEncoding}, ${raw[i + 1] as string}`;
          break;
        case Kind.RequestId: {
          requestIds++;
          const value = (raw[i + 1] as string).trim();
          clientRequestId = requestIds === 1 && isSaneRequestId(value) ? value : undefined;
          break;
        }
        default:
          break;
      }
    }
    if (dropped !== undefined) for (const name of dropped) if (isProtected(name)) dropped.delete(name);
    const url = req.url ?? '';
    const absolute = isOriginForm(url) ? undefined : absoluteForm(url);
    this.method = req.method ?? '';
    this.url = url;
    this.versionMajor = req.httpVersionMajor;
    this.versionMinor = req.httpVersionMinor;
    this.startedAt = startedAt;
    this.clientIp = clientAddress(req.socket?.remoteAddress);
    this.clientRequestId = clientRequestId;
    this.requestId = clientRequestId ?? randomUUID();
    this.host = host;
    this.hostCount = hostCount;
    this.contentLength = contentLength;
    this.contentLengthCount = contentLengthCount;
    this.transferEncoding = transferEncoding;
    this.transferEncodingCount = transferEncodingCount;
    this.dropped = dropped !== undefined && dropped.size > 0 ? dropped : undefined;
    this.bodyLength = contentLength !== '' ? Number(contentLength) : transferEncodingCount > 0 ? -1 : 0;
    this.absolute = absolute;
    this.target = isOriginForm(url) ? url : absolute?.path;
  }
}

/** Reads the head of `req` (see {@link RequestHead}). */
export function readRequestHead(req: HeadSource, startedAt: number): RequestHead {
  return new RequestHead(req, startedAt);
}
