import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestLineError } from '../../src/errors.js';
import { readRequestHead, type RequestHead } from '../../src/request-head.js';
import { isValidHost, originFormTarget } from '../../src/request-target.js';
import { transferCodings, validate } from '../../src/request-validation.js';

type Facts = Partial<
  Pick<
    RequestHead,
    | 'host'
    | 'hostCount'
    | 'contentLength'
    | 'contentLengthCount'
    | 'transferEncoding'
    | 'transferEncodingCount'
  >
>;

/** Validates the head of a request with these header facts (a plain Host by default) and request line. */
function check(facts: Facts, req: Partial<IncomingMessage> = {}) {
  const head = readRequestHead(
    {
      rawHeaders: [],
      socket: null,
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      method: 'POST',
      url: '/',
      ...req,
    },
    0,
  );
  return validate({
    ...head,
    hostCount: 1,
    host: 'example.com',
    ...facts,
    transferEncodingCount: facts.transferEncodingCount ?? (facts.transferEncoding !== undefined ? 1 : 0),
  });
}

describe('validate', () => {
  it('lets an ordinary request through', () => {
    expect(check({ contentLength: '5', contentLengthCount: 1 })).toBeUndefined();
    expect(check({ transferEncoding: 'chunked' })).toBeUndefined();
    expect(check({ transferEncoding: 'Chunked ' })).toBeUndefined();
  });

  it.each([
    ['two Host headers', { hostCount: 2 }, {}, 'BAD_REQUEST'],
    ['two Content-Length headers', { contentLength: '5', contentLengthCount: 2 }, {}, 'BAD_REQUEST'],
    ['a non-numeric Content-Length', { contentLength: '5x', contentLengthCount: 1 }, {}, 'BAD_REQUEST'],
    [
      'Content-Length with Transfer-Encoding',
      { contentLength: '5', contentLengthCount: 1, transferEncoding: 'chunked' },
      {},
      'BAD_REQUEST',
    ],
    ['chunked on HTTP/1.0', { transferEncoding: 'chunked' }, { httpVersionMinor: 0 }, 'BAD_REQUEST'],
    [
      'a coding other than chunked (chunked not final: RFC 9112 6.3)',
      { transferEncoding: 'gzip' },
      {},
      'BAD_REQUEST',
    ],
    ['an empty Transfer-Encoding', { transferEncoding: '', transferEncodingCount: 1 }, {}, 'BAD_REQUEST'],
    ['chunked after another coding', { transferEncoding: 'gzip, chunked' }, {}, 'NOT_IMPLEMENTED'],
    ['an invalid Host value', { host: 'a b' }, {}, 'BAD_REQUEST'],
    ['a fragment in the target', {}, { url: '/a#b' }, 'BAD_REQUEST'],
    ['an absolute-form target whose authority is not the Host', {}, { url: 'http://other/x' }, 'BAD_REQUEST'],
    ['an absolute-form target with userinfo', {}, { url: 'http://u:p@example.com/x' }, 'BAD_REQUEST'],
    [
      'an absolute-form target without Host',
      { hostCount: 0, host: '' },
      { url: 'http://example.com/x' },
      'BAD_REQUEST',
    ],
    ['an asterisk-form target', {}, { url: '*' }, 'BAD_REQUEST'],
    ['CONNECT', {}, { method: 'CONNECT' }, 'NOT_IMPLEMENTED'],
    ['HTTP/2.0', {}, { httpVersionMajor: 2, httpVersionMinor: 0 }, 'HTTP_VERSION_NOT_SUPPORTED'],
  ] as const)('refuses %s', (_label, facts, req, code) => {
    expect(check(facts, req)).toBe(code);
  });
});

describe('validate: absolute-form targets', () => {
  it.each([
    ['http://example.com/x', 'example.com'],
    ['HTTP://EXAMPLE.com/x', 'example.COM'],
    ['http://example.com:80/x', 'example.com'],
    ['http://example.com/x', 'example.com:80'],
    ['http://example.com:/x', 'example.com'],
    ['https://example.com:443/x', 'example.com'],
    ['http://[::1]:8080/x', '[::1]:8080'],
  ])('accepts %s with Host %s', (url, host) => {
    expect(check({ host }, { url })).toBeUndefined();
  });

  it.each([
    ['http://example.com:8080/x', 'example.com'],
    ['https://example.com/x', 'example.com:80'],
    ['http://example.com/x', 'example.org'],
    ['http:///x', ''],
    ['http://:80/x', ':80'],
  ])('refuses %s with Host %s', (url, host) => {
    expect(check({ host }, { url })).toBe('BAD_REQUEST');
  });
});

describe('transferCodings', () => {
  it.each([
    ['chunked', 'chunked'],
    ['Chunked', 'chunked'],
    [' chunked ', 'chunked'],
    [', chunked,', 'chunked'],
    ['gzip, chunked', 'NOT_IMPLEMENTED'],
    ['gzip,chunked', 'NOT_IMPLEMENTED'],
    ['chunked, gzip', 'BAD_REQUEST'],
    ['chunked, identity', 'BAD_REQUEST'],
    ['chunked, chunked', 'BAD_REQUEST'],
    ['xchunked', 'BAD_REQUEST'],
    ['chunkedx', 'BAD_REQUEST'],
    ['chunked;q=1', 'BAD_REQUEST'],
    ['identity', 'BAD_REQUEST'],
    ['', 'BAD_REQUEST'],
    [' , ', 'BAD_REQUEST'],
  ])('%j -> %s', (value, expected) => {
    expect(transferCodings(value)).toBe(expected);
  });
});

describe('isValidHost', () => {
  it.each(['', 'example.com', 'example.com:8080', '127.0.0.1', '[::1]:80', 'a-b_c~d', 'xn--e1afmkfd'])(
    'accepts %j',
    (host) => expect(isValidHost(host)).toBe(true),
  );
  it.each(['a b', 'a/b', 'u@h', 'a?b', 'a#b', 'caf\u00e9', 'a\tb', 'a"b'])('refuses %j', (host) => {
    expect(isValidHost(host)).toBe(false);
  });
});

describe('requestLineError', () => {
  const at = (raw: string, marker: string) => raw.indexOf(marker);
  it.each([
    ['version', 'GET / HTTP/1.2\r\n\r\n', 'HTTP/1.2', 'HTTP_VERSION_NOT_SUPPORTED'],
    ['version', 'GET / HTTP/3.0\r\n\r\n', '3.0', 'HTTP_VERSION_NOT_SUPPORTED'],
    ['version', 'GET / HTTP/3\r\n\r\n', '3', 'BAD_REQUEST'],
    ['version', 'GET / HTTP/1.1x\r\n\r\n', 'x', 'BAD_REQUEST'],
    ['version', 'GET / HTTP/1.1 \r\n\r\n', ' \r', 'BAD_REQUEST'],
    ['version', 'GET / HTTP/1.1\n\n', '\n', 'BAD_REQUEST'],
    [
      'version',
      'GET /a HTTP/1.1\r\nhost: t\r\n\r\nGET /b HTTP/1.3\r\n\r\n',
      '1.3',
      'HTTP_VERSION_NOT_SUPPORTED',
    ],
    ['version', 'GET /a HTTP/1.1\r\nhost: t\r\n\r\nGET /b HTTP/1.3', '1.3', 'BAD_REQUEST'],
    ['method', 'get / HTTP/1.1\r\n\r\n', 'get', 'NOT_IMPLEMENTED'],
    ['method', 'FOO / HTTP/1.1\r\n\r\n', 'FOO', 'NOT_IMPLEMENTED'],
    ['method', 'G@T / HTTP/1.1\r\n\r\n', '@', 'BAD_REQUEST'],
    ['method', 'GET\t/ HTTP/1.1\r\n\r\n', '\t', 'BAD_REQUEST'],
    ['method', 'GET / HTTP/1.1\r\nhost: t\r\n\r\nFOO / HTTP/1.1\r\n\r\n', 'FOO', 'NOT_IMPLEMENTED'],
  ] as const)('%s error in %j -> %s', (kind, raw, marker, expected) => {
    const offset = at(raw, marker);
    expect(requestLineError(kind, Buffer.from(raw, 'latin1'), offset)).toBe(expected);
  });

  it('answers 400 when the bytes are not known', () => {
    expect(requestLineError('version', undefined, 3)).toBe('BAD_REQUEST');
    expect(requestLineError('method', Buffer.from('FOO / HTTP/1.1\r\n'), undefined)).toBe('BAD_REQUEST');
  });
});

describe('originFormTarget', () => {
  it.each([
    ['/a?b=1', '/a?b=1'],
    ['http://example.com/x/y?z=1', '/x/y?z=1'],
    ['HTTP://example.com', '/'],
    ['http://example.com?q=1', '/?q=1'],
    ['http://example.com/a/../b', '/a/../b'],
    ['http://example.com/a#frag', undefined],
    ['http://u@example.com/', undefined],
    ['*', undefined],
    ['example.com:443', undefined],
    ['ftp://example.com/x', undefined],
  ])('%s -> %s', (url, expected) => {
    expect(originFormTarget(url)).toBe(expected);
  });
});
