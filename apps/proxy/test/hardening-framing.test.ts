// Request framing and smuggling, black box (issue #7, family 1): exact bytes over a raw socket to the
// built proxy, a recording upstream behind it. A request whose framing, version or target is in doubt is
// answered by the proxy itself (400 / 501 / 505 with the JSON error body), the connection is closed, and
// the upstream sees nothing at all; the proxy keeps serving. What is unusual but unambiguous is forwarded,
// and the test pins the exact request the upstream got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exchange,
  expectCleanErrorBody,
  forwardedHeaderLines,
  recordingUpstream,
  type RecordingUpstream,
} from './helpers/raw-client.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

let upstream: RecordingUpstream;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await recordingUpstream();
  proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
});

afterAll(async () => {
  await stopAllProcesses();
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
    'Upgrade: websocket, forwarded as a plain request',
    `GET /ws HTTP/1.1\r\n${HI}connection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n`,
    'GET /ws HTTP/1.1',
    ['sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version: 13'],
    '',
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
