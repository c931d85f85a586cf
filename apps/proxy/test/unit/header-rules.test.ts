import { describe, expect, it } from 'vitest';
import {
  clientAddress,
  clientResponseHeaders,
  equalsLower,
  isSaneRequestId,
  upstreamRequestHeaders,
} from '../../src/header-rules.js';
import { readRequestHead } from '../../src/request-head.js';

/** A request with these raw headers from peer `ip`, as Node hands it to the handler. */
function request(raw: string[], ip = '10.0.0.9') {
  return {
    rawHeaders: raw,
    method: 'GET',
    url: '/',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    socket: { remoteAddress: ip },
  };
}

/** Reads the head of raw request headers, then builds the upstream headers with request id `id`. */
function forward(raw: string[], ip = '10.0.0.9', id = 'rid-1') {
  const head = readRequestHead(request(raw, ip), 0);
  return {
    facts: { ...head, requestId: head.clientRequestId },
    headers: upstreamRequestHeaders(raw, { ...head, requestId: id }),
  };
}

/** The header facts of a head, as the tests compare them. */
function factsOf(raw: string[]) {
  const head = readRequestHead(request(raw), 0);
  return {
    requestId: head.clientRequestId,
    host: head.host,
    hostCount: head.hostCount,
    contentLength: head.contentLength,
    contentLengthCount: head.contentLengthCount,
    transferEncoding: head.transferEncoding,
    transferEncodingCount: head.transferEncodingCount,
  };
}

/** The facts of a request without any of the headers they come from. */
const NO_FACTS = {
  requestId: undefined,
  host: '',
  hostCount: 0,
  contentLength: '',
  contentLengthCount: 0,
  transferEncoding: '',
  transferEncodingCount: 0,
};

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

const names = (flat: readonly string[]) => pairs(flat).map(([n]) => n);
const get = (flat: readonly string[], name: string) =>
  pairs(flat)
    .filter(([n]) => n === name)
    .map(([, v]) => v);

describe('equalsLower', () => {
  it.each([
    ['Connection', 'connection', true],
    ['CONNECTION', 'connection', true],
    ['Connectioo', 'connection', false],
    ['conn', 'connection', false],
  ])('%s vs %s -> %s', (name, lower, expected) => {
    expect(equalsLower(name, lower)).toBe(expected);
  });
});

describe('request headers sent upstream', () => {
  it('drops every hop-by-hop header, in any case', () => {
    const { headers } = forward([
      'Host',
      'a.example',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'TE',
      'trailers',
      'Trailer',
      'X-Sum',
      'Upgrade',
      'websocket',
      'Proxy-Authorization',
      'Basic Zm9v',
      'Proxy-Authenticate',
      'Basic',
      'Transfer-Encoding',
      'chunked',
      'Accept',
      '*/*',
    ]);
    expect(names(headers)).toEqual([
      'host',
      'accept',
      'x-forwarded-for',
      'x-forwarded-proto',
      'x-forwarded-host',
      'forwarded',
      'via',
      'x-request-id',
    ]);
  });

  it('drops the headers that Connection names, but never Host or Content-Length', () => {
    const { headers } = forward([
      'Host',
      'h',
      'Connection',
      'X-Secret, close, Content-Length, host',
      'X-Secret',
      's',
      'Content-Length',
      '2',
      'X-Other',
      'o',
    ]);
    expect(get(headers, 'x-secret')).toEqual([]);
    expect(get(headers, 'x-other')).toEqual(['o']);
    expect(get(headers, 'content-length')).toEqual(['2']);
    expect(get(headers, 'host')).toEqual(['h']);
  });

  it('keeps the client Host and appends the peer to X-Forwarded-For (rightmost is the peer)', () => {
    const { headers } = forward(
      ['Host', 'app.example:8080', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'],
      '10.0.0.9',
    );
    expect(get(headers, 'host')).toEqual(['app.example:8080']);
    expect(get(headers, 'x-forwarded-for')).toEqual(['1.1.1.1, 2.2.2.2, 10.0.0.9']);
  });

  it('replaces client-sent X-Forwarded-Proto, X-Forwarded-Host and Forwarded', () => {
    const { headers } = forward([
      'Host',
      'real.example',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil.example',
      'Forwarded',
      'for=6.6.6.6',
    ]);
    expect(get(headers, 'x-forwarded-proto')).toEqual(['http']);
    expect(get(headers, 'x-forwarded-host')).toEqual(['real.example']);
    expect(get(headers, 'forwarded')).toEqual(['for=10.0.0.9;host="real.example";proto=http']);
  });

  it('brackets IPv6 peers in Forwarded and escapes quotes in the host', () => {
    const { headers } = forward(['Host', 'a"b'], '::1');
    expect(get(headers, 'forwarded')).toEqual(['for="[::1]";host="a\\"b";proto=http']);
  });

  it('appends to Via and drops Expect', () => {
    const { headers } = forward(['Host', 'h', 'Via', '1.0 fred', 'Expect', '100-continue']);
    expect(get(headers, 'via')).toEqual(['1.0 fred, 1.1 roundguard']);
    expect(get(headers, 'expect')).toEqual([]);
  });

  it('keeps exactly one sane X-Request-Id and replaces anything else', () => {
    expect(forward(['X-Request-Id', 'abc-123']).facts.requestId).toBe('abc-123');
    expect(forward(['X-Request-Id', 'a b']).facts.requestId).toBeUndefined();
    expect(forward(['X-Request-Id', 'x'.repeat(129)]).facts.requestId).toBeUndefined();
    expect(forward(['X-Request-Id', 'a', 'X-Request-Id', 'b']).facts.requestId).toBeUndefined();
    const { headers } = forward(['X-Request-Id', 'client-given'], '1.2.3.4', 'chosen');
    expect(get(headers, 'x-request-id')).toEqual(['chosen']);
  });

  it('records framing facts: Host count, Content-Length, Transfer-Encoding', () => {
    const { facts } = forward([
      'Host',
      'a',
      'host',
      'b',
      'Content-Length',
      '5',
      'Transfer-Encoding',
      'gzip',
      'transfer-encoding',
      'chunked',
    ]);
    expect(facts).toMatchObject({
      hostCount: 2,
      contentLength: '5',
      contentLengthCount: 1,
      transferEncoding: 'gzip, chunked',
    });
  });
});

describe('response headers sent to the client', () => {
  const buf = (flat: string[]) => flat.map((s) => Buffer.from(s, 'latin1'));

  it('drops hop-by-hop headers and the names Connection lists, appends Via, sets X-Request-Id', () => {
    const out = clientResponseHeaders(
      buf([
        'Content-Type',
        'text/plain',
        'Connection',
        'keep-alive, X-Hop',
        'Keep-Alive',
        'timeout=5',
        'X-Hop',
        '1',
        'Transfer-Encoding',
        'chunked',
        'X-Request-Id',
        'upstream-id',
        'Via',
        '1.1 inner',
      ]),
      'rid',
      false,
    );
    expect(pairs(out)).toEqual([
      ['content-type', 'text/plain'],
      ['via', '1.1 inner, 1.1 roundguard'],
      ['x-request-id', 'rid'],
    ]);
  });

  it('adds Connection: close when asked (draining, or an unread request body)', () => {
    expect(get(clientResponseHeaders([], 'r', true), 'connection')).toEqual(['close']);
  });
});

describe('helpers', () => {
  it('shows IPv4-mapped IPv6 peers as IPv4', () => {
    expect(clientAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('unknown');
  });

  it.each(['abc', 'A-Z_0.9:@+=/', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'])('accepts request id %s', (id) => {
    expect(isSaneRequestId(id)).toBe(true);
  });

  it.each(['', 'a b', 'a\nb', 'é', '<script>'])('refuses request id %j', (id) => {
    expect(isSaneRequestId(id)).toBe(false);
  });
});

describe('reading the request head', () => {
  it('reads each request afresh: nothing carries over from the one before', () => {
    factsOf([
      'Host',
      'a',
      'Host',
      'b',
      'Content-Length',
      '3',
      'Transfer-Encoding',
      'chunked',
      'X-Request-Id',
      'r1',
    ]);
    expect(factsOf(['Accept', '*/*'])).toEqual(NO_FACTS);
  });
});

describe('reading the request head: framing facts', () => {
  it('counts Transfer-Encoding headers, an empty one included, and joins their values', () => {
    expect(factsOf(['Transfer-Encoding', ''])).toMatchObject({
      transferEncoding: '',
      transferEncodingCount: 1,
    });
    expect(factsOf(['transfer-encoding', 'gzip', 'TRANSFER-ENCODING', 'chunked'])).toMatchObject({
      transferEncoding: 'gzip, chunked',
      transferEncodingCount: 2,
    });
    expect(factsOf(['Host', 'a'])).toMatchObject({ transferEncoding: '', transferEncodingCount: 0 });
  });
});
