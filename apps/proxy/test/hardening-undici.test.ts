// Requests that undici refuses or treats specially (lib/core/request.js: path characters outside
// U+0021-U+00FF, invalid header values, the `connection`, `keep-alive`, `upgrade`, `transfer-encoding` and
// `expect` headers, duplicate `host` / `content-length`): each one must either be forwarded as the client
// sent it (minus hop-by-hop headers) or be answered by the proxy with an exact status and error code,
// never turn into a 502 blamed on the upstream, and never leave an upstream pool stuck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, type HttpBackend } from './helpers/backends.js';
import { getMetrics, getUpstreams, postJson, rawExchange, sumOf, waitFor } from './helpers/http.js';
import { errorCodeOf, parseRaw, reflectingBackend, sha256, type Reflected } from './helpers/hardening.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

let backends: HttpBackend[];
let proxy: ProxyProcess;

beforeAll(async () => {
  backends = await Promise.all(['A', 'B', 'C'].map((name) => reflectingBackend(name)));
  proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
});

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

/** Requests the backends have received (health probes excluded). */
const forwarded = (): number => backends.reduce((n, b) => n + b.count, 0);

/** Sends raw bytes on a new connection; the proxy closes it after one answer (`connection: close`). */
async function exchange(bytes: string | Buffer): Promise<ReturnType<typeof parseRaw>> {
  const { data } = await rawExchange(proxy.port, bytes, 5000);
  return parseRaw(data);
}

function reflected(res: ReturnType<typeof parseRaw>): Reflected {
  expect(res.status, res.body).toBe(200);
  // rawExchange reads latin1; the backend answers UTF-8 JSON.
  return JSON.parse(Buffer.from(res.body, 'latin1').toString('utf8')) as Reflected;
}

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
    ['a fragment (path confusion: RFC 9112 3.2 has no fragment in a target)', 'GET /page?q=1#frag HTTP/1.1'],
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
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === 'expect-foo');
    expect(log).toMatchObject({
      status: 417,
      outcome: 'rejected',
      error_code: 'EXPECTATION_FAILED',
      upstream: 'none',
      bytes_out: Buffer.byteLength(res.body),
    });
    const { samples } = await getMetrics(proxy.adminUrl);
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
      parts.push(Buffer.from(`${size.toString(16)}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
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
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === id);
    expect(log).toMatchObject({ status: 400, outcome: 'rejected', error_code: 'BAD_REQUEST' });
    // One record for the one request: the parser error is not logged again on its own.
    expect(
      proxy.records.filter((r) => r.msg === 'request completed' && r.error_code === 'HPE_INVALID_CHUNK_SIZE'),
    ).toEqual([]);
    await waitFor(() => backends.every((b) => b.inFlight === 0), 'no request open at the upstreams');
  });
});

describe('headers undici would refuse if they were forwarded', () => {
  it.each([
    [
      'Connection: Upgrade + Upgrade: h2c + HTTP2-Settings',
      'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n',
    ],
    [
      'Upgrade: websocket without Connection',
      'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    ],
    ['KEEP-ALIVE in capitals', 'KEEP-ALIVE: timeout=5, max=10\r\n'],
    ['Connection: keep-alive, keep-alive', 'Connection: keep-alive, keep-alive\r\n'],
    ['Connection naming Keep-Alive and TE', 'Connection: Keep-Alive, TE\r\nTE: trailers\r\n'],
    ['a Connection token that is not a token', 'Connection: "quoted", x y\r\n'],
    ['Expect: 100-Continue in another case', 'Expect: 100-Continue\r\n'],
    ['Proxy-Connection: close', 'Proxy-Connection: close\r\n'],
  ])('forwards a request with %s, without them', async (_name, headers) => {
    const res = await exchange(`GET /hop HTTP/1.1\r\nhost: t\r\n${headers}${CLOSE}\r\n`);
    const seen = reflected(res);
    for (const name of [
      'upgrade',
      'keep-alive',
      'te',
      'expect',
      'proxy-connection',
      'http2-settings',
      'transfer-encoding',
    ])
      expect(seen.headers[name], name).toBeUndefined();
    expect(String(seen.headers.connection ?? '')).not.toMatch(/upgrade|quoted|te/i);
  });

  it('forwards Transfer-Encoding: chunked as a body framed by undici, never as a header', async () => {
    const res = await exchange(
      `POST /te HTTP/1.1\r\nhost: t\r\nTransfer-Encoding: Chunked\r\n${CLOSE}\r\n4\r\nbody\r\n0\r\n\r\n`,
    );
    const seen = reflected(res);
    expect(seen.body).toBe('body');
    // undici frames the stream itself (chunked); the client's header is not copied (it is never doubled).
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'transfer-encoding').length).toBeLessThanOrEqual(
      1,
    );
  });

  it('forwards obs-text (bytes 0x80-0xFF) in a header value byte-exact, and an empty value', async () => {
    const res = await exchange(
      Buffer.from(
        `GET /obs HTTP/1.1\r\nhost: t\r\nx-latin: caf\xe9 \x80\xff\r\nx-empty:\r\n${CLOSE}\r\n`,
        'latin1',
      ),
    );
    const seen = reflected(res);
    expect(seen.headers['x-latin']).toBe('caf\xe9 \x80\xff');
    expect(seen.headers['x-empty']).toBe('');
  });

  it('forwards a header name made of every token character', async () => {
    const name = "x-!#$%&'*+.^_`|~09az";
    const res = await exchange(`GET /token HTTP/1.1\r\nhost: t\r\n${name}: v\r\n${CLOSE}\r\n`);
    expect(reflected(res).headers[name.toLowerCase()]).toBe('v');
  });

  it('sends its own Content-Length upstream for a client value with leading zeros', async () => {
    const res = await exchange(`POST /cl HTTP/1.1\r\nhost: t\r\ncontent-length: 0003\r\n${CLOSE}\r\nabc`);
    const seen = reflected(res);
    expect(seen.body).toBe('abc');
    expect(seen.headers['content-length']).toBe('3');
  });

  it.each([
    ['NUL in a value', 'x-a: a\x00b\r\n', 400, 'BAD_REQUEST'],
    ['DEL in a value', 'x-a: a\x7fb\r\n', 400, 'BAD_REQUEST'],
    ['a bare CR in a value', 'x-a: a\rb\r\n', 400, 'BAD_REQUEST'],
    ['a space before the colon', 'x-a : b\r\n', 400, 'BAD_REQUEST'],
    ['an empty name', ': b\r\n', 400, 'BAD_REQUEST'],
    ['a name with a slash', 'x/y: b\r\n', 400, 'BAD_REQUEST'],
    ['two Host headers', 'host: u\r\n', 400, 'BAD_REQUEST'],
    ['a 16-digit Content-Length', 'content-length: 1234567890123456\r\n', 400, 'BAD_REQUEST'],
    ['Content-Length: -1', 'content-length: -1\r\n', 400, 'BAD_REQUEST'],
    ['Transfer-Encoding: chunked, chunked', 'transfer-encoding: chunked, chunked\r\n', 400, 'BAD_REQUEST'],
    [
      'Transfer-Encoding: gzip then chunked',
      'transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n',
      501,
      'NOT_IMPLEMENTED',
    ],
  ])('refuses %s with the exact status and code, forwarding nothing', async (_name, header, status, code) => {
    const before = forwarded();
    const res = await exchange(`POST /bad HTTP/1.1\r\nhost: t\r\n${header}${CLOSE}\r\n0\r\n\r\n`);
    expect(res.status).toBe(status);
    expect(errorCodeOf(res)).toBe(code);
    expect(forwarded()).toBe(before);
  });
});

describe('after many odd requests', () => {
  it('serves ordinary requests on every upstream at once: no pool stuck, nothing left in flight', async () => {
    const odd: (string | Buffer)[] = [
      `GET /%00 HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
      `GET /${'x'.repeat(8000)} HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
      `POST /e HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 2\r\n${CLOSE}\r\nhi`,
      `POST /e HTTP/1.1\r\nhost: t\r\nexpect: foo\r\ncontent-length: 2\r\n${CLOSE}\r\nhi`,
      `POST /c HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n0\r\n\r\n`,
      `POST /c HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n${CLOSE}\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n`,
      `GET /u HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`,
      `GET /k HTTP/1.1\r\nhost: t\r\nkeep-alive: timeout=1\r\n${CLOSE}\r\n`,
      `GET /a b HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
      `GET /h HTTP/1.1\r\nhost: t\r\nx-a: a\x00b\r\n${CLOSE}\r\n`,
      `POST /cl HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n${CLOSE}\r\nab`,
      `POST /short HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\nabc`, // the client goes away mid-body
      `OPTIONS * HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
      `CONNECT t:443 HTTP/1.1\r\nhost: t:443\r\n\r\n`,
      `GET http://t/abs HTTP/1.1\r\nhost: t\r\n${CLOSE}\r\n`,
      Buffer.from(`GET /obs HTTP/1.1\r\nhost: t\r\nx-o: \xe9\xff\r\n${CLOSE}\r\n`, 'latin1'),
    ];
    const statuses: number[] = [];
    const total = 208;
    for (let i = 0; i < total; i += 16) {
      await Promise.all(
        odd.map(async (bytes, j) => {
          // The keep-alive ones are closed by the client after a short while (it does not wait for the
          // proxy's keep-alive timeout); the mid-body one is abandoned.
          const { data } = await rawExchange(proxy.port, bytes, j === 11 ? 100 : j === 6 ? 400 : 5000);
          statuses.push(data === '' ? 0 : Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? -1));
        }),
      );
    }
    expect(statuses).toHaveLength(total);
    expect(statuses).not.toContain(502);
    expect(statuses).not.toContain(-1);

    // Every upstream answers an ordinary request at once, and the proxy holds nothing in flight.
    const started = Date.now();
    const names = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await postJson(`${proxy.url}/ordinary`, { i });
      expect(res.status).toBe(200);
      names.add(res.json<Reflected>().name);
    }
    expect(names).toEqual(new Set(['A', 'B', 'C']));
    expect(Date.now() - started).toBeLessThan(5000);
    const upstreams = await getUpstreams(proxy.adminUrl);
    expect(upstreams.map((u) => [u.healthy, u.inFlight])).toEqual([
      [true, 0],
      [true, 0],
      [true, 0],
    ]);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_requests_in_flight')).toBe(0);
    expect(sumOf(samples, 'roundguard_requests_total', { outcome: 'upstream_error' })).toBe(0);
    expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(0);
  });
});
