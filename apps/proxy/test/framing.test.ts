// Request framing, version and target, black box: exact bytes over a raw socket to the built proxy. A
// request whose framing, version or target is in doubt is answered by the proxy itself (400 / 501 / 505
// with the JSON error body), the connection is closed, and the upstream sees nothing at all; the proxy
// keeps serving. What is unusual but unambiguous is forwarded, and the tests pin the exact request the
// upstream got: odd targets, Expect, chunked uploads (bodies of every size, extensions, trailers).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend, type HttpBackend } from './helpers/backends.js';
import { errorCodeOf, sha256 } from './helpers/hardening.js';
import { getMetrics, rawExchange, sumOf, waitFor } from './helpers/http.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';
import {
  exchange,
  expectCleanErrorBody,
  forwardedHeaderLines,
  recordingUpstream,
  type RecordingUpstream,
} from './helpers/raw-client.js';
import { reflectingProxy } from './helpers/reflecting-proxy.js';

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

describe('through a recording upstream', () => {
  let upstream: RecordingUpstream;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    upstream = await recordingUpstream();
    proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
  });

  afterAll(async () => {
    await upstream.close();
  });

  let seq = 0;

  /**
   * Sends an ordinary request on a new connection and checks it is the only thing the upstream received
   * since `bytesBefore` (so whatever was sent before it reached nothing).
   */
  async function expectOnlyNextRequestForwarded(bytesBefore: number, requestsBefore: number): Promise<void> {
    const path = `/after-${++seq}`;
    const { responses } = await exchange(proxy.port, `GET ${path} HTTP/1.1\r\nhost: t\r\n\r\n`, {
      expectClose: false,
    });
    expect(responses.map((r) => [r.status, r.body])).toEqual([[200, `GET ${path}`]]);
    expect(upstream.requests.length).toBe(requestsBefore + 1);
    const last = upstream.requests[upstream.requests.length - 1]!;
    expect(last.requestLine).toBe(`GET ${path} HTTP/1.1`);
    expect(upstream.totalBytes()).toBe(bytesBefore + Buffer.byteLength(last.raw, 'latin1'));
  }

  const H = 'host: t\r\n';
  const CHUNKED_EMPTY = '0\r\n\r\n';

  /** [name, raw request, status, code] */
  type Refused = readonly [string, string, number, string];

  const refused: Refused[] = [
    // Content-Length / Transfer-Encoding conflicts (RFC 9112 6.1, 6.3)
    [
      'CL then TE',
      `POST / HTTP/1.1\r\n${H}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'TE then CL',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'CL with an unknown TE',
      `POST / HTTP/1.1\r\n${H}content-length: 5\r\ntransfer-encoding: gzip\r\n\r\nhello`,
      400,
      'BAD_REQUEST',
    ],
    // duplicate and malformed Content-Length (RFC 9112 6.3 point 5)
    [
      'two equal CL',
      `POST / HTTP/1.1\r\n${H}content-length: 2\r\ncontent-length: 2\r\n\r\nab`,
      400,
      'BAD_REQUEST',
    ],
    [
      'two different CL',
      `POST / HTTP/1.1\r\n${H}content-length: 1\r\ncontent-length: 2\r\n\r\nab`,
      400,
      'BAD_REQUEST',
    ],
    ['a CL list "2, 2"', `POST / HTTP/1.1\r\n${H}content-length: 2, 2\r\n\r\nab`, 400, 'BAD_REQUEST'],
    ['CL "+5"', `POST / HTTP/1.1\r\n${H}content-length: +5\r\n\r\nhello`, 400, 'BAD_REQUEST'],
    ['CL "5 5"', `POST / HTTP/1.1\r\n${H}content-length: 5 5\r\n\r\nhello`, 400, 'BAD_REQUEST'],
    ['CL "0x10"', `POST / HTTP/1.1\r\n${H}content-length: 0x10\r\n\r\nhello`, 400, 'BAD_REQUEST'],
    ['CL "-1"', `POST / HTTP/1.1\r\n${H}content-length: -1\r\n\r\nhello`, 400, 'BAD_REQUEST'],
    ['an empty CL', `POST / HTTP/1.1\r\n${H}content-length: \r\n\r\nhello`, 400, 'BAD_REQUEST'],
    ['CL "5x"', `POST / HTTP/1.1\r\n${H}content-length: 5x\r\n\r\nhello`, 400, 'BAD_REQUEST'],
    [
      'a 16-digit CL',
      `POST / HTTP/1.1\r\n${H}content-length: 1000000000000000\r\n\r\nhello`,
      400,
      'BAD_REQUEST',
    ],
    [
      'a CL over 2^64',
      `POST / HTTP/1.1\r\n${H}content-length: 99999999999999999999999\r\n\r\nhello`,
      400,
      'BAD_REQUEST',
    ],
    // obfuscated Transfer-Encoding
    [
      'TE "chunked, identity"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked, identity\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'TE "xchunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: xchunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'TE "chunked<TAB>"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\t\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      '"Transfer-Encoding : chunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding : chunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'TE chunked on HTTP/1.0',
      `POST / HTTP/1.0\r\n${H}transfer-encoding: chunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'two TE headers "chunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'TE "chunked, chunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked, chunked\r\n\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    ['TE "gzip"', `POST / HTTP/1.1\r\n${H}transfer-encoding: gzip\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['TE "identity"', `POST / HTTP/1.1\r\n${H}transfer-encoding: identity\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['an empty TE', `POST / HTTP/1.1\r\n${H}transfer-encoding: \r\n\r\n`, 400, 'BAD_REQUEST'],
    [
      'TE "gzip, chunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: gzip, chunked\r\n\r\n${CHUNKED_EMPTY}`,
      501,
      'NOT_IMPLEMENTED',
    ],
    [
      'TE "gzip" then TE "chunked"',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n${CHUNKED_EMPTY}`,
      501,
      'NOT_IMPLEMENTED',
    ],
    // broken chunked bodies
    [
      'a bad chunk size',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n${CHUNKED_EMPTY}`,
      400,
      'BAD_REQUEST',
    ],
    [
      'a chunk size with bare LF',
      `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\r\n\r\n3\nabc\n0\n\n`,
      400,
      'BAD_REQUEST',
    ],
    // header syntax (RFC 9112 5, 5.2; RFC 9110 5.5)
    ['obs-fold (space)', `GET / HTTP/1.1\r\n${H}x-a: 1\r\n  folded\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['obs-fold (tab)', `GET / HTTP/1.1\r\n${H}x-a: 1\r\n\tfolded\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a folded first header', `GET / HTTP/1.1\r\n host: t\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['NUL in a value', `GET / HTTP/1.1\r\n${H}x-a: a\0b\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a lone CR in a value', `GET / HTTP/1.1\r\n${H}x-a: a\rb\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a lone LF ending a header', `GET / HTTP/1.1\r\n${H}x-a: b\n\r\n`, 400, 'BAD_REQUEST'],
    ['DEL in a value', `GET / HTTP/1.1\r\n${H}x-a: a\x7fb\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['DEL in a name', `GET / HTTP/1.1\r\n${H}x-\x7fa: b\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a non-ASCII name', `GET / HTTP/1.1\r\n${H}x-\xe9: b\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a space in a name', `GET / HTTP/1.1\r\n${H}x a: b\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['an empty name', `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a line without colon', `GET / HTTP/1.1\r\n${H}xa\r\n\r\n`, 400, 'BAD_REQUEST'],
    // request line (RFC 9112 3)
    ['LF-only line endings', `GET / HTTP/1.1\n${H.replace('\r', '')}\n`, 400, 'BAD_REQUEST'],
    ['a trailing space after the version', `GET / HTTP/1.1 \r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a tab between method and target', `GET\t/ HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a method that is not a token', `G@T / HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a lowercase method', `get / HTTP/1.1\r\n${H}\r\n`, 501, 'NOT_IMPLEMENTED'],
    ['an unknown method', `FOO / HTTP/1.1\r\n${H}\r\n`, 501, 'NOT_IMPLEMENTED'],
    ['a space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a control character in the target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a non-ASCII target', `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a fragment in the target', `GET /a#b HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    // versions (RFC 9110 15.6.6: 505 for a well-formed unsupported version; 400 for a malformed one)
    ['no version (HTTP/0.9 request line)', `GET /\r\n${H}\r\n`, 505, 'HTTP_VERSION_NOT_SUPPORTED'],
    ['HTTP/0.9', `GET / HTTP/0.9\r\n${H}\r\n`, 505, 'HTTP_VERSION_NOT_SUPPORTED'],
    ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 505, 'HTTP_VERSION_NOT_SUPPORTED'],
    ['HTTP/2.0', `GET / HTTP/2.0\r\n${H}\r\n`, 505, 'HTTP_VERSION_NOT_SUPPORTED'],
    ['HTTP/3.0', `GET / HTTP/3.0\r\n${H}\r\n`, 505, 'HTTP_VERSION_NOT_SUPPORTED'],
    ['HTTP/3', `GET / HTTP/3\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['HTTP/1.1x', `GET / HTTP/1.1x\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['http/1.1', `GET / http/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    // target forms (RFC 9112 3.2)
    ['an asterisk-form OPTIONS', `OPTIONS * HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['an asterisk-form GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['an authority-form GET', `GET t:443 HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['CONNECT', `CONNECT t:443 HTTP/1.1\r\nhost: t:443\r\n\r\n`, 501, 'NOT_IMPLEMENTED'],
    [
      'absolute-form with another Host',
      `GET http://other.example/abs HTTP/1.1\r\n${H}\r\n`,
      400,
      'BAD_REQUEST',
    ],
    ['absolute-form with another port', `GET http://t:8080/abs HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['absolute-form without Host', `GET http://t/abs HTTP/1.1\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['absolute-form with userinfo', `GET http://u:p@t/abs HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['absolute-form with an empty authority', `GET http:///abs HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['absolute-form with a fragment', `GET http://t/a#b HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a non-http absolute-form', `GET ftp://t/abs HTTP/1.1\r\n${H}\r\n`, 400, 'BAD_REQUEST'],
    // Host (RFC 9112 3.2: none on 1.1, several, or an invalid value is a 400)
    ['no Host on HTTP/1.1', `GET / HTTP/1.1\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['two different Host headers', `GET / HTTP/1.1\r\n${H}host: u\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['two equal Host headers', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, 'BAD_REQUEST'],
    ['a Host list "t, u"', `GET / HTTP/1.1\r\nhost: t, u\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a Host with a slash', `GET / HTTP/1.1\r\nhost: t/x\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['a Host with userinfo', `GET / HTTP/1.1\r\nhost: u@t\r\n\r\n`, 400, 'BAD_REQUEST'],
  ];

  describe('requests refused, never forwarded, connection closed', () => {
    it.each(refused)('%s -> %i %s', async (_name, raw, status, code) => {
      const bytesBefore = upstream.totalBytes();
      const requestsBefore = upstream.requests.length;
      const { responses, closed } = await exchange(proxy.port, raw);
      expect(responses.map((r) => r.status)).toEqual([status]);
      const [res] = responses;
      expect(res!.header('content-type')).toBe('application/json');
      expect(res!.header('connection')).toBe('close');
      expectCleanErrorBody(res!.body, code);
      expect(closed).toBe(true);
      await expectOnlyNextRequestForwarded(bytesBefore, requestsBefore);
    });
  });

  /** Host and a request id placeholder (`{id}`, replaced per case). */
  const HI = 'host: t\r\nx-request-id: {id}\r\n';

  /** [name, raw request, request line upstream, extra header lines upstream, body upstream] */
  type Forwarded = readonly [string, string, string, string[], string];

  const forwarded: Forwarded[] = [
    ['an ordinary GET', `GET /ok?q=1 HTTP/1.1\r\n${HI}\r\n`, 'GET /ok?q=1 HTTP/1.1', [], ''],
    [
      'TE "Chunked" (codings are case-insensitive)',
      `POST /c HTTP/1.1\r\n${HI}transfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      'POST /c HTTP/1.1',
      [],
      'abc',
    ],
    [
      'TE with leading and trailing spaces (OWS)',
      `POST /c HTTP/1.1\r\n${HI}transfer-encoding:   chunked  \r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      'POST /c HTTP/1.1',
      [],
      'abc',
    ],
    [
      'a chunk extension',
      `POST /c HTTP/1.1\r\n${HI}transfer-encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n`,
      'POST /c HTTP/1.1',
      [],
      'abc',
    ],
    [
      'CL "005" (leading zeros are digits)',
      `POST /l HTTP/1.1\r\n${HI}content-length: 005\r\n\r\nhello`,
      'POST /l HTTP/1.1',
      [],
      'hello',
    ],
    [
      'CL with trailing OWS',
      `POST /l HTTP/1.1\r\n${HI}content-length: 5 \r\n\r\nhello`,
      'POST /l HTTP/1.1',
      [],
      'hello',
    ],
    [
      'two spaces before the target (RFC 9112 3: MAY parse on whitespace)',
      `GET  /sp HTTP/1.1\r\n${HI}\r\n`,
      'GET /sp HTTP/1.1',
      [],
      '',
    ],
    [
      'absolute-form, sent in origin form',
      `GET http://t/abs?q=1 HTTP/1.1\r\n${HI}\r\n`,
      'GET /abs?q=1 HTTP/1.1',
      [],
      '',
    ],
    [
      'absolute-form with the default port',
      `GET HTTP://T:80/p/../q HTTP/1.1\r\n${HI}\r\n`,
      'GET /p/../q HTTP/1.1',
      [],
      '',
    ],
    ['absolute-form without path', `GET http://t?x=1 HTTP/1.1\r\n${HI}\r\n`, 'GET /?x=1 HTTP/1.1', [], ''],
    [
      // A WebSocket handshake is a GET without a body (websocket*.test.ts): this one is not, so no tunnel.
      'Upgrade: websocket on a POST with a body, forwarded as a plain request',
      `POST /ws HTTP/1.1\r\n${HI}connection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\ncontent-length: 5\r\n\r\nhello`,
      'POST /ws HTTP/1.1',
      ['sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version: 13'],
      'hello',
    ],
    [
      'Upgrade: h2c, with the headers Connection names dropped',
      `GET /h2c HTTP/1.1\r\n${HI}connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
      'GET /h2c HTTP/1.1',
      [],
      '',
    ],
  ];

  /** Header lines of a forwarded request, without the framing ones (undici frames the body itself). */
  function unframed(lines: readonly string[]): string[] {
    return lines.filter((l) => !/^(content-length|transfer-encoding):/i.test(l)).sort();
  }

  describe('unusual but unambiguous requests, forwarded', () => {
    it.each(forwarded)('%s', async (name, head, requestLine, extra, body) => {
      const id = `fwd-${++seq}`;
      const raw = head.replace('{id}', id);
      const requestsBefore = upstream.requests.length;
      const { responses, closed } = await exchange(proxy.port, raw, { expectClose: false });
      expect(
        responses.map((r) => r.status),
        name,
      ).toEqual([200]);
      expect(responses[0]!.body).toBe(requestLine.split(' ').slice(0, 2).join(' '));
      expect(responses[0]!.header('x-request-id')).toBe(id);
      expect(closed).toBe(false);
      expect(upstream.requests.length).toBe(requestsBefore + 1);
      const seen = upstream.requests[upstream.requests.length - 1]!;
      expect(seen.requestLine).toBe(requestLine);
      expect(unframed(seen.headerLines)).toEqual(
        unframed(['host: t', 'connection: keep-alive', ...extra, ...forwardedHeaderLines('t', id)]),
      );
      expect(seen.body).toBe(body);
      const framing = seen.headerLines.filter((l) => /^(content-length|transfer-encoding):/i.test(l));
      if (body === '') expect(framing.filter((l) => !/^content-length: 0$/i.test(l))).toEqual([]);
      else expect(framing).toHaveLength(1);
    });

    it('HTTP/1.0 without Host: forwarded, and the connection closed after the answer', async () => {
      const { responses, closed } = await exchange(
        proxy.port,
        'GET /ten HTTP/1.0\r\nx-request-id: ten\r\n\r\n',
      );
      expect(responses.map((r) => [r.status, r.body])).toEqual([[200, 'GET /ten']]);
      expect(closed).toBe(true);
      const seen = upstream.requests[upstream.requests.length - 1]!;
      expect(seen.requestLine).toBe('GET /ten HTTP/1.1');
      // No client Host: the upstream gets its own address as Host (undici's default), and no X-Forwarded-Host.
      expect(seen.headerLines).toContain(`host: 127.0.0.1:${upstream.port}`);
      expect(seen.headerLines.filter((l) => /^x-forwarded-host:/i.test(l))).toEqual([]);
    });

    it('an obs-text byte in a header value is forwarded byte-exact (RFC 9110 5.5 allows it)', async () => {
      const { responses } = await exchange(
        proxy.port,
        Buffer.from(`GET /ot HTTP/1.1\r\n${H}x-a: caf\xe9\r\n\r\n`, 'latin1'),
        { expectClose: false },
      );
      expect(responses.map((r) => r.status)).toEqual([200]);
      const seen = upstream.requests[upstream.requests.length - 1]!;
      // Node reads header bytes as latin1 and undici writes header strings as latin1: the byte 0xE9 the
      // client sent is the byte the upstream gets (headerLines are decoded as latin1).
      expect(seen.headerLines).toContain('x-a: caf\xe9');
    });
  });

  describe('a body error after the head was forwarded', () => {
    it('a bad chunk after a good one: 400 to the client, the upstream request is cut, never completed', async () => {
      const requestsBefore = upstream.requests.length;
      const connectionsBefore = upstream.connections.length;
      const { responses, closed } = await exchange(
        proxy.port,
        `POST /cut HTTP/1.1\r\n${H}transfer-encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\nmore\r\n0\r\n\r\n`,
      );
      expect(responses.map((r) => r.status)).toEqual([400]);
      expectCleanErrorBody(responses[0]!.body, 'BAD_REQUEST');
      expect(closed).toBe(true);
      // The upstream never got a complete request: at most the head and the first chunk, then its
      // connection was closed by the proxy.
      expect(upstream.requests.length).toBe(requestsBefore);
      for (const conn of upstream.connections.slice(connectionsBefore)) {
        const got = conn.bytes().toString('latin1');
        if (got !== '') {
          expect(got).toMatch(/^POST \/cut HTTP\/1\.1\r\n/);
          expect(got).not.toContain('more');
          await expect.poll(() => conn.closed).toBe(true);
        }
      }
      const path = `/after-${++seq}`;
      const after = await exchange(proxy.port, `GET ${path} HTTP/1.1\r\n${H}\r\n`, { expectClose: false });
      expect(after.responses.map((r) => r.body)).toEqual([`GET ${path}`]);
    });
  });
});

describe('through three reflecting upstreams', () => {
  const upstreams = reflectingProxy();
  const { exchange, forwarded, reflected } = upstreams;

  const CLOSE = 'connection: close\r\n';

  describe('odd request targets', () => {
    it.each([
      ['a percent-encoded NUL', '/%00'],
      ['encoded dot-dot-slashes', '/..%2f..%2fetc%2fpasswd'],
      ['a literal dot-dot segment', '/a/../../b'],
      ['an 8 KiB path', `/${'p'.repeat(8192)}`],
      ['an empty query', '/?'],
      ['percent-encoded UTF-8', '/%E2%82%AC/%F0%9F%98%80?q=%C3%A9'],
      ['a double slash', '//double//slash/'],
      ['every sub-delim', "/a;b=c,d/~u/!$&'()*+,;=:@?x=[y]&z={w}|^`"],
      ['a query with encoded CR LF', '/q?x=%0d%0aSet-Cookie:%20a=b'],
    ])('forwards a target with %s unchanged', async (_name, target) => {
      const res = await exchange(`GET ${target} HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`);
      expect(reflected(res).url).toBe(target);
    });

    it.each([
      ['a bare "?"', 'GET ? HTTP/1.1'],
      [
        'a fragment (path confusion: RFC 9112 3.2 has no fragment in a target)',
        'GET /page?q=1#frag HTTP/1.1',
      ],
      ['a space inside', 'GET /a b HTTP/1.1'],
      ['a tab inside', 'GET /a\tb HTTP/1.1'],
      ['DEL inside', 'GET /a\x7fb HTTP/1.1'],
      ['raw UTF-8 bytes', Buffer.from('GET /\u20ac HTTP/1.1', 'utf8').toString('latin1')],
      ['a raw 0xFF byte', 'GET /\xff HTTP/1.1'],
      ['an absolute-form target that is not http(s)', 'GET ftp://x/a HTTP/1.1'],
      ['an authority-form target on GET', 'GET example.test:80 HTTP/1.1'],
    ])('refuses a target with %s: 400 BAD_REQUEST, nothing forwarded', async (_name, line) => {
      const before = forwarded();
      const res = await exchange(Buffer.from(`${line}\r\nhost: t\r\n${CLOSE}\r\n`, 'latin1'));
      expect(res.status).toBe(400);
      expect(errorCodeOf(res)).toBe('BAD_REQUEST');
      expect(forwarded()).toBe(before);
    });
  });

  describe('Expect', () => {
    it('answers 100 Continue itself and forwards the request without Expect', async () => {
      const res = await exchange(
        `POST /expect HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 5\r\n${CLOSE}\r\nhello`,
      );
      expect(res.statusLines[0]).toBe('HTTP/1.1 100 Continue');
      const seen = reflected(res);
      expect(seen.headers.expect).toBeUndefined();
      expect(seen.body).toBe('hello');
    });

    it('forwards an HTTP/1.0 request with Expect (which has no meaning there) without it and without 100', async () => {
      const res = await exchange(
        'POST /expect10 HTTP/1.0\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi',
      );
      expect(res.statusLines).toHaveLength(1);
      const seen = reflected(res);
      expect(seen.headers.expect).toBeUndefined();
      expect(seen.body).toBe('hi');
    });

    it('answers an unknown expectation with 417 EXPECTATION_FAILED (RFC 9110 10.1.1), logged and counted, nothing forwarded', async () => {
      const before = forwarded();
      const res = await exchange(
        `POST /expect-foo HTTP/1.1\r\nhost: t\r\nexpect: foo\r\nx-request-id: expect-foo\r\ncontent-length: 2\r\n${CLOSE}\r\nhi`,
      );
      expect(res.status).toBe(417);
      expect(res.headers['content-type']).toBe('application/json');
      expect(errorCodeOf(res)).toBe('EXPECTATION_FAILED');
      expect(res.headers['x-request-id']).toBe('expect-foo');
      expect(forwarded()).toBe(before);
      const log = await upstreams.proxy.waitForRecord(
        (r) => r.msg === 'request completed' && r.req_id === 'expect-foo',
      );
      expect(log).toMatchObject({
        status: 417,
        outcome: 'rejected',
        error_code: 'EXPECTATION_FAILED',
        upstream: 'none',
        bytes_out: Buffer.byteLength(res.body),
      });
      const { samples } = await getMetrics(upstreams.proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_requests_total', { upstream: 'none', code: '417' })).toBe(1);
    });
  });

  describe('chunked uploads', () => {
    /** `body` cut into chunks of pseudo-random sizes (1 B to 20 KiB), deterministic per body size. */
    function chunked(body: Buffer, trailer = ''): Buffer {
      const parts: Buffer[] = [];
      let seed = body.length + 1;
      for (let at = 0; at < body.length;) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const size = Math.min(body.length - at, 1 + (seed % 20_480));
        parts.push(
          Buffer.from(`${size.toString(16)}\r\n`),
          body.subarray(at, at + size),
          Buffer.from('\r\n'),
        );
        at += size;
      }
      parts.push(Buffer.from(`0\r\n${trailer}\r\n`));
      return Buffer.concat(parts);
    }

    it.each([0, 1, 2, 15, 16, 17, 255, 4096, 65_535, 65_536, 65_537, 300_000, 1024 * 1024])(
      'forwards a chunked body of %i bytes byte-exact',
      async (size) => {
        const body = Buffer.alloc(size);
        for (let i = 0; i < size; i++) body[i] = (i * 31 + 7) & 0xff;
        const head = `POST /chunked/${size} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n`;
        const res = await exchange(Buffer.concat([Buffer.from(head), chunked(body)]));
        const seen = reflected(res);
        expect(seen.bodyLength).toBe(size);
        expect(seen.bodySha256).toBe(sha256(body));
      },
    );

    it('forwards a chunked body with chunk extensions and trailers; the trailers are dropped (hop-by-hop)', async () => {
      const res = await exchange(
        `POST /trailers HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n${CLOSE}\r\n` +
          `3;ext=1\r\nabc\r\n2;name="q"\r\nde\r\n0\r\nx-checksum: 1234\r\nx-other: 5\r\n\r\n`,
      );
      const seen = reflected(res);
      expect(seen.body).toBe('abcde');
      expect(seen.trailers).toEqual({});
      expect(seen.headers['x-checksum']).toBeUndefined();
      expect(seen.headers.trailer).toBeUndefined();
    });

    it.each([
      ['in the first chunk', 'zz\r\nabc\r\n0\r\n\r\n'],
      ['after a good chunk', '3\r\nabc\r\nzz\r\n0\r\n\r\n'],
    ])('answers a chunk size that is not hex (%s) with 400 BAD_REQUEST, logged once', async (_name, body) => {
      const id = `bad-chunk-${body.length}`;
      const res = await exchange(
        `POST /bad-chunk HTTP/1.1\r\nhost: t\r\nx-request-id: ${id}\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n${body}`,
      );
      expect(res.status).toBe(400);
      expect(errorCodeOf(res)).toBe('BAD_REQUEST');
      expect(res.headers['x-request-id']).toBe(id);
      const log = await upstreams.proxy.waitForRecord(
        (r) => r.msg === 'request completed' && r.req_id === id,
      );
      expect(log).toMatchObject({ status: 400, outcome: 'rejected', error_code: 'BAD_REQUEST' });
      // One record for the one request: the parser error is not logged again on its own.
      expect(
        upstreams.proxy.records.filter(
          (r) => r.msg === 'request completed' && r.error_code === 'HPE_INVALID_CHUNK_SIZE',
        ),
      ).toEqual([]);
      await waitFor(
        () => upstreams.backends.every((b) => b.inFlight === 0),
        'no request open at the upstreams',
      );
    });
  });
});

describe('one proxy per case', () => {
  afterEach(async () => {
    await stopAllProcesses();
    await closeAllBackends();
  });

  describe('requests the proxy refuses', () => {
    let proxy: ProxyProcess;
    let backend: HttpBackend;
    const setup = async (extra: string[] = []): Promise<void> => {
      backend = await httpBackend((_req, res) => res.end('reached'));
      proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES, ...extra]);
    };

    function statusOf(data: string): number {
      return Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
    }

    function codeOf(data: string): string {
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      return (JSON.parse(body) as { error: { code: string } }).error.code;
    }

    it.each([
      [
        'Content-Length with Transfer-Encoding',
        'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'BAD_REQUEST',
      ],
      [
        'two different Content-Length headers',
        'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
        400,
        'BAD_REQUEST',
      ],
      ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400, 'BAD_REQUEST'],
      [
        'CONNECT',
        'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n',
        501,
        'NOT_IMPLEMENTED',
      ],
      [
        'a transfer coding other than chunked',
        'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip\r\n\r\n',
        400,
        'BAD_REQUEST',
      ],
      [
        'a transfer coding before chunked',
        'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
        501,
        'NOT_IMPLEMENTED',
      ],
      ['an asterisk-form target', 'OPTIONS * HTTP/1.1\r\nhost: t\r\n\r\n', 400, 'BAD_REQUEST'],
    ])('refuses %s with the given status and code, forwarding nothing', async (_name, raw, status, code) => {
      await setup();
      const { data } = await rawExchange(proxy.port, raw, 3000);
      expect(statusOf(data)).toBe(status);
      expect(codeOf(data)).toBe(code);
      expect(backend.count).toBe(0);
      const { samples } = await getMetrics(proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_requests_total', { upstream: 'none', code: String(status) })).toBe(1);
      // Refused by the proxy itself: not a client abort, in the metrics as in the log.
      expect(
        sumOf(samples, 'roundguard_requests_total', {
          upstream: 'none',
          code: String(status),
          outcome: 'rejected',
        }),
      ).toBe(1);
      const log = await proxy.waitForRecord((r) => r.msg === 'request completed');
      expect(log).toMatchObject({
        status,
        outcome: 'rejected',
        upstream: 'none',
        bytes_out: Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)),
      });
    });

    it('answers 431 HEADERS_TOO_LARGE to a request head over 16 KiB', async () => {
      await setup();
      const { data } = await rawExchange(
        proxy.port,
        `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(statusOf(data)).toBe(431);
      expect(codeOf(data)).toBe('HEADERS_TOO_LARGE');
      expect(backend.count).toBe(0);
      const rejected = await proxy.waitForRecord((r) => r.msg === 'request completed');
      expect(rejected).toMatchObject({ status: 431, client_ip: '127.0.0.1', outcome: 'rejected' });
      // The same record as any other request: what the parser could not read is null.
      expect(rejected).toMatchObject({
        req_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        method: null,
        host: null,
        path: null,
        upstream: 'none',
        error_code: 'HPE_HEADER_OVERFLOW',
        bytes_in: 0,
        bytes_out: Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)),
        duration_ms: expect.any(Number),
        upstream_ttfb_ms: null,
      });
    });

    it('answers 408 REQUEST_TIMEOUT and closes when request headers do not arrive within --client-timeout', async () => {
      await setup(['--client-timeout', '300']);
      const { data, closedByServer } = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nhost: t\r\n', 5000);
      expect(closedByServer).toBe(true);
      expect(statusOf(data)).toBe(408);
      expect(codeOf(data)).toBe('REQUEST_TIMEOUT');
    });

    it('answers 408 and closes when the request body stalls for longer than --client-timeout', async () => {
      await setup(['--client-timeout', '300']);
      const { data, closedByServer } = await rawExchange(
        proxy.port,
        `POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n${'a'.repeat(10)}`,
        5000,
      );
      expect(closedByServer).toBe(true);
      expect(statusOf(data)).toBe(408);
      expect(codeOf(data)).toBe('REQUEST_TIMEOUT');
    });
  });
});
