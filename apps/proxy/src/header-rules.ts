// The header rules of the proxy, both directions, in one place (RFC 9110 7.6.1, 7.6.3; RFC 9112 9.6):
// - hop-by-hop headers (Connection and every name it lists, Keep-Alive, Proxy-Connection, TE, Trailer,
//   Transfer-Encoding, Upgrade, Proxy-Authorization, Proxy-Authenticate) are dropped both ways;
// - Host is kept; X-Forwarded-For gets the peer appended; X-Forwarded-Proto, X-Forwarded-Host and
//   Forwarded are replaced (never trusted from the client); Via gets `1.1 roundguard` appended;
// - X-Request-Id: a sane client value is kept, else one is generated; it goes upstream and back.
//
// Hot path: names are compared case-insensitively without allocating (no toLowerCase per header), the
// raw header arrays are walked once, and the output is one flat [name, value, ...] array.

/** The Via entry this proxy adds (RFC 9110 7.6.3). */
export const VIA = '1.1 roundguard';

/** `name` equals `lower` (an ASCII lower-case constant) ignoring ASCII case, without allocating. */
export function equalsLower(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Kinds of header names the rules care about. */
export const enum Kind {
  Other = 0,
  HopByHop,
  Connection,
  ContentLength,
  TransferEncoding,
  Host,
  XForwardedFor,
  Replaced,
  Via,
  RequestId,
  Expect,
}

/** Classifies a header name; a switch on the length keeps most names to one or two comparisons. */
export function kindOf(name: string): Kind {
  switch (name.length) {
    case 2:
      return equalsLower(name, 'te') ? Kind.HopByHop : Kind.Other;
    case 3:
      return equalsLower(name, 'via') ? Kind.Via : Kind.Other;
    case 4:
      return equalsLower(name, 'host') ? Kind.Host : Kind.Other;
    case 6:
      return equalsLower(name, 'expect') ? Kind.Expect : Kind.Other;
    case 7:
      return equalsLower(name, 'upgrade') || equalsLower(name, 'trailer') ? Kind.HopByHop : Kind.Other;
    case 9:
      return equalsLower(name, 'forwarded') ? Kind.Replaced : Kind.Other;
    case 10:
      if (equalsLower(name, 'connection')) return Kind.Connection;
      return equalsLower(name, 'keep-alive') ? Kind.HopByHop : Kind.Other;
    case 12:
      return equalsLower(name, 'x-request-id') ? Kind.RequestId : Kind.Other;
    case 14:
      return equalsLower(name, 'content-length') ? Kind.ContentLength : Kind.Other;
    case 15:
      return equalsLower(name, 'x-forwarded-for') ? Kind.XForwardedFor : Kind.Other;
    case 16:
      if (equalsLower(name, 'x-forwarded-host')) return Kind.Replaced;
      return equalsLower(name, 'proxy-connection') ? Kind.HopByHop : Kind.Other;
    case 17:
      if (equalsLower(name, 'transfer-encoding')) return Kind.TransferEncoding;
      return equalsLower(name, 'x-forwarded-proto') ? Kind.Replaced : Kind.Other;
    case 18:
      return equalsLower(name, 'proxy-authenticate') ? Kind.HopByHop : Kind.Other;
    case 19:
      return equalsLower(name, 'proxy-authorization') ? Kind.HopByHop : Kind.Other;
    default:
      return Kind.Other;
  }
}

/** Lower-cased, trimmed tokens of Connection header values; `undefined` when there are none. */
export function connectionTokens(values: string, into: Set<string> | undefined): Set<string> | undefined {
  // Fast path for the usual values, which name no header.
  if (equalsLower(values, 'keep-alive') || equalsLower(values, 'close')) return into;
  for (const raw of values.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'close' || token === 'keep-alive') continue;
    (into ??= new Set()).add(token);
  }
  return into;
}

/** Names the Connection header may not remove: they carry the message's framing and target. */
export function isProtected(lowerName: string): boolean {
  return lowerName === 'host' || lowerName === 'content-length' || lowerName === 'transfer-encoding';
}

/** A sane X-Request-Id: 1-128 characters of letters, digits and `-_.:@+=/`. */
const SANE_REQUEST_ID = /^[A-Za-z0-9\-_.:@+=/]{1,128}$/;

export function isSaneRequestId(value: string): boolean {
  return SANE_REQUEST_ID.test(value);
}

/** The client's address as it goes in X-Forwarded-For: IPv4-mapped IPv6 addresses shown as IPv4. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice(7)
    : remoteAddress;
}

/** RFC 7239 `for=` node: IPv6 addresses are bracketed and quoted. */
function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/** RFC 7239 quoted-string for a host value. */
function forwardedQuoted(value: string): string {
  if (value.indexOf('"') === -1 && value.indexOf('\\') === -1) return `"${value}"`;
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** What the upstream request's headers are made of besides the client's raw headers (see request-head.ts). */
export interface ForwardingFacts {
  /** Names the client's Connection header lists (lower case), Host and the framing headers aside. */
  readonly dropped: ReadonlySet<string> | undefined;
  /** The Host header value ('' when absent). */
  readonly host: string;
  /** The peer's address (see {@link clientAddress}). */
  readonly clientIp: string;
  /** The request id sent upstream and back to the client. */
  readonly requestId: string;
}

/**
 * Builds the upstream request's headers as one flat `[name, value, ...]` array: the client's headers
 * minus hop-by-hop ones (and the names Connection lists), minus Expect (Node answered `100 Continue`
 * already), minus client-sent X-Forwarded-Proto/-Host and Forwarded; then X-Forwarded-For (appended),
 * X-Forwarded-Proto, X-Forwarded-Host, Forwarded, Via (appended) and X-Request-Id.
 */
export function upstreamRequestHeaders(raw: readonly string[], head: ForwardingFacts): string[] {
  const { dropped, host, clientIp, requestId } = head;
  const out: string[] = [];
  let xff = '';
  let via = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    switch (kindOf(name)) {
      case Kind.Other:
      case Kind.Host:
      case Kind.ContentLength:
        if (dropped !== undefined && dropped.has(name.toLowerCase())) break;
        out.push(name, value);
        break;
      case Kind.XForwardedFor:
        xff = xff === '' ? value : `${xff}, ${value}`;
        break;
      case Kind.Via:
        via = via === '' ? value : `${via}, ${value}`;
        break;
      default:
        // hop-by-hop, Connection, Transfer-Encoding (undici frames the body itself), Expect, replaced
        // forwarding headers and the client's X-Request-Id (re-added below) are not copied.
        break;
    }
  }
  out.push('x-forwarded-for', xff === '' ? clientIp : `${xff}, ${clientIp}`, 'x-forwarded-proto', 'http');
  if (host !== '') {
    out.push('x-forwarded-host', host);
    out.push('forwarded', `for=${forwardedNode(clientIp)};host=${forwardedQuoted(host)};proto=http`);
  } else {
    out.push('forwarded', `for=${forwardedNode(clientIp)};proto=http`);
  }
  out.push('via', via === '' ? VIA : `${via}, ${VIA}`, 'x-request-id', requestId);
  return out;
}

/**
 * Builds the client response's headers from the upstream's raw headers (Buffers, as undici hands them):
 * hop-by-hop headers and the names Connection lists are dropped, and so is the upstream's X-Request-Id
 * (the proxy's goes back instead); Via gets `1.1 roundguard` appended.
 */
export function clientResponseHeaders(raw: readonly Buffer[], requestId: string, close: boolean): string[] {
  const out: string[] = [];
  let dropped: Set<string> | undefined;
  let via = '';
  const n = raw.length;
  // Upstream names arrive as Buffers; decode each once.
  const names: string[] = new Array<string>(n >> 1);
  for (let i = 0; i < n; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    names[i >> 1] = name;
    if (name.length === 10 && equalsLower(name, 'connection')) {
      dropped = connectionTokens((raw[i + 1] as Buffer).toString('latin1'), dropped);
    }
  }
  for (let i = 0; i < n; i += 2) {
    const name = names[i >> 1] as string;
    switch (kindOf(name)) {
      case Kind.Other:
      case Kind.Host:
      case Kind.ContentLength:
      case Kind.XForwardedFor:
      case Kind.Replaced:
      case Kind.Expect:
        if (dropped !== undefined && dropped.has(name.toLowerCase()) && !isProtected(name.toLowerCase()))
          break;
        out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
        break;
      case Kind.Via: {
        const value = (raw[i + 1] as Buffer).toString('latin1');
        via = via === '' ? value : `${via}, ${value}`;
        break;
      }
      default:
        break;
    }
  }
  out.push('via', via === '' ? VIA : `${via}, ${VIA}`, 'x-request-id', requestId);
  if (close) out.push('connection', 'close');
  return out;
}
