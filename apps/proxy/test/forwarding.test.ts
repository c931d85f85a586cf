// Forwarding end to end: methods, paths, query strings and bodies go through unchanged; hop-by-hop
// headers are removed both ways (also the ones undici would refuse), X-Forwarded-For / -Proto / -Host,
// Forwarded and Via are set as documented (as the upstream receives them, byte for byte), X-Request-Id
// is kept or generated.
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllBackends,
  type HttpBackend,
  httpBackend,
  type RawUpstream,
  rawUpstream,
  type SeenRequest,
} from './helpers/backends.js';
import { errorCodeOf } from './helpers/hardening.js';
import { rawExchange, request, waitFor } from './helpers/http.js';
import { NO_PROBES, type ProxyProcess, startProxy, stopAllProcesses } from './helpers/processes.js';
import {
  exchange,
  forwardedHeaderLines,
  recordingUpstream,
  type RecordingUpstream,
} from './helpers/raw-client.js';
import { reflectingProxy } from './helpers/reflecting-proxy.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Answers with what it received: method, target, headers and the body, as JSON (HEAD: headers only). */
function reflect(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const status = Number(/[?&]status=(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-method': req.method,
      'x-request-id': 'backend-chose-this',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

interface Reflected {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

let backend: HttpBackend;
let proxy: ProxyProcess;

beforeAll(async () => {
  backend = await httpBackend(reflect);
  proxy = await startProxy(['--upstream', backend.url, '--health-interval', '2000000000']);
});

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

/** The backend's record of the request that carried `id` as X-Request-Id. */
function seenWithId(id: string): SeenRequest | undefined {
  return backend.seen.find((s) => s.headers['x-request-id'] === id);
}

describe('methods, paths and bodies', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PURGE'])(
    'forwards %s with its path, query and body unchanged',
    async (method) => {
      const withBody = method !== 'GET' && method !== 'OPTIONS';
      const payload = `payload of ${method} \u00e9\u00e8`;
      const path = `/some/path/a%20b;p=1?x=1&y=%2F&x=2&empty=&flag`;
      const res = await request(`${proxy.url}${path}`, {
        method,
        headers: withBody
          ? { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(payload) }
          : {},
        body: withBody ? payload : undefined,
      });
      expect(res.status).toBe(200);
      expect(res.headers['x-method']).toBe(method);
      const seen = res.json<Reflected>();
      expect(seen.method).toBe(method);
      expect(seen.url).toBe(path);
      expect(seen.body).toBe(withBody ? payload : '');
      if (withBody) expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
      expect(res.headers['content-length']).toBe(String(res.body.length));
    },
  );

  it('forwards HEAD and answers with the upstream headers and no body', async () => {
    const res = await request(`${proxy.url}/head-me?z=1`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['x-method']).toBe('HEAD');
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    expect(res.body.length).toBe(0);
    expect(backend.seen.some((s) => s.method === 'HEAD' && s.url === '/head-me?z=1')).toBe(true);
  });

  it('forwards a chunked request body whole', async () => {
    const parts = ['{"a":', '1,"b":', '[1,2,3]}'];
    const { data } = await rawExchange(
      proxy.port,
      `POST /chunked HTTP/1.1\r\nhost: t\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n` +
        parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') +
        '0\r\n\r\n',
    );
    expect(data).toMatch(/^HTTP\/1\.1 200 /);
    const seen = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)) as Reflected;
    expect(seen.body).toBe(parts.join(''));
  });

  it.each([404, 418, 500, 503])(
    "passes an upstream %i through unchanged (it is not the proxy's error)",
    async (status) => {
      const res = await request(`${proxy.url}/status?status=${status}`, {
        headers: { 'x-request-id': `pass-${status}` },
      });
      expect(res.status).toBe(status);
      expect(res.json<Reflected>().url).toBe(`/status?status=${status}`);
      const log = await proxy.waitForRecord(
        (r) => r.msg === 'request completed' && r.req_id === `pass-${status}`,
      );
      expect(log).toMatchObject({ status, outcome: 'ok', error_code: null, level: 'info' });
    },
  );

  it('sends an absolute-form target upstream in origin form', async () => {
    const { data } = await rawExchange(
      proxy.port,
      'GET http://example.test/abs/path?q=1 HTTP/1.1\r\nhost: example.test\r\nconnection: close\r\n\r\n',
    );
    expect(data).toMatch(/^HTTP\/1\.1 200 /);
    const seen = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)) as Reflected;
    expect(seen.url).toBe('/abs/path?q=1');
  });
});

describe('request headers', () => {
  it('removes hop-by-hop headers, keeps Host, and sets X-Forwarded-*, Forwarded and Via', async () => {
    const head = [
      'GET /hop?x=1 HTTP/1.1',
      'Host: example.test:8443',
      'Connection: keep-alive, X-Drop-Me, x-drop-too',
      'X-Drop-Me: 1',
      'X-Drop-Too: 2',
      'Keep-Alive: timeout=30, max=100',
      'Proxy-Connection: keep-alive',
      'TE: trailers',
      'Trailer: X-Checksum',
      'Upgrade: websocket',
      'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
      'X-Forwarded-For: 203.0.113.7, 198.51.100.1',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: evil.test',
      'Forwarded: for=192.0.2.60;proto=https',
      'Via: 1.0 client-side-proxy',
      'X-Request-Id: hop-by-hop-test',
      'X-Custom: kept as is',
      'Authorization: Bearer end-to-end-credential',
      '',
      '',
    ].join('\r\n');
    const { data } = await rawExchange(proxy.port, head, 3000);
    expect(data).toMatch(/^HTTP\/1\.1 200 /);
    const seen = seenWithId('hop-by-hop-test');
    expect(seen).toBeDefined();
    const h = seen!.headers;
    for (const name of [
      'x-drop-me',
      'x-drop-too',
      'keep-alive',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'transfer-encoding',
    ]) {
      expect(h[name], name).toBeUndefined();
    }
    // The proxy's own connection to the upstream may say keep-alive; it never carries the client's tokens.
    expect(String(h.connection ?? '')).not.toMatch(/drop/i);
    expect(h.host).toBe('example.test:8443');
    expect(h['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('example.test:8443');
    expect(h.forwarded).toBe('for=127.0.0.1;host="example.test:8443";proto=http');
    expect(h.via).toBe('1.0 client-side-proxy, 1.1 roundguard');
    expect(h['x-custom']).toBe('kept as is');
    expect(h.authorization).toBe('Bearer end-to-end-credential');
    expect(seen!.url).toBe('/hop?x=1');
  });

  it('sets X-Forwarded-For to the client address when the client sent none', async () => {
    await request(`${proxy.url}/xff`, { headers: { 'x-request-id': 'xff-none' } });
    const h = seenWithId('xff-none')!.headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${proxy.port}`);
    expect(h.via).toBe('1.1 roundguard');
  });
});

describe('response headers', () => {
  let upstream: RawUpstream;
  let proxyToRaw: ProxyProcess;

  beforeAll(async () => {
    upstream = await rawUpstream((conn) => {
      conn.socket.write(
        [
          'HTTP/1.1 200 OK',
          'Content-Type: text/plain',
          'Connection: keep-alive, X-Resp-Drop',
          'X-Resp-Drop: internal',
          'Keep-Alive: timeout=99, max=7',
          'Proxy-Connection: keep-alive',
          'Proxy-Authenticate: Basic realm="inner"',
          'Trailer: X-Checksum',
          'Upgrade: h2c',
          'Via: 1.1 backend-cache',
          'X-Request-Id: chosen-by-upstream',
          'X-Kept: yes',
          'Content-Length: 5',
          '',
          'hello',
        ].join('\r\n'),
      );
    });
    proxyToRaw = await startProxy(['--upstream', upstream.url, '--health-interval', '2000000000']);
  });

  it('removes hop-by-hop headers from the response, appends Via and returns the request id', async () => {
    const { data } = await rawExchange(
      proxyToRaw.port,
      'GET /resp HTTP/1.1\r\nhost: t\r\nx-request-id: resp-hop\r\nconnection: close\r\n\r\n',
      5000,
    );
    const end = data.indexOf('\r\n\r\n');
    const lines = data.slice(0, end).split('\r\n');
    expect(lines[0]).toMatch(/^HTTP\/1\.1 200 /);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    for (const name of [
      'x-resp-drop',
      'proxy-connection',
      'proxy-authenticate',
      'trailer',
      'upgrade',
      'transfer-encoding',
    ]) {
      expect(headers.get(name), name).toBeUndefined();
    }
    // Connection / Keep-Alive, if any, are the proxy's own (it closes, as the client asked), not the upstream's.
    expect(headers.get('connection')).toEqual(['close']);
    expect(headers.get('keep-alive') ?? []).not.toContain('timeout=99, max=7');
    expect(headers.get('via')).toEqual(['1.1 backend-cache, 1.1 roundguard']);
    expect(headers.get('x-request-id')).toEqual(['resp-hop']);
    expect(headers.get('x-kept')).toEqual(['yes']);
    expect(headers.get('content-length')).toEqual(['5']);
    expect(data.slice(end + 4)).toBe('hello');
  });
});

describe('X-Request-Id', () => {
  it('passes a sane client id through: upstream, response and access log', async () => {
    const id = 'Req-42_a.b:c@d+e=f/g';
    const res = await request(`${proxy.url}/rid`, { headers: { 'x-request-id': id } });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe(id);
    expect(res.json<Reflected>().headers['x-request-id']).toBe(id);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === id);
    expect(log.path).toBe('/rid');
  });

  it.each([
    ['none sent', undefined],
    ['one with a space', 'two words'],
    ['one of 129 characters', 'a'.repeat(129)],
    ['one with a quote', 'abc"def'],
    ['an empty one', ''],
  ])(
    'generates a UUID when the client sent %s, and uses it upstream, in the response and in the log',
    async (_name, id) => {
      const marker = `m${Math.random().toString(36).slice(2)}`;
      const headers: Record<string, string> = { 'x-marker': marker };
      if (id !== undefined) headers['x-request-id'] = id;
      const res = await request(`${proxy.url}/gen`, { headers });
      expect(res.status).toBe(200);
      const generated = res.headers['x-request-id'] as string;
      expect(generated).toMatch(UUID);
      expect(generated).not.toBe(id);
      const upstreamSaw = res.json<Reflected>().headers;
      expect(upstreamSaw['x-marker']).toBe(marker);
      expect(upstreamSaw['x-request-id']).toBe(generated);
      await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === generated);
    },
  );

  it('generates a new id when the client sent two', async () => {
    const res = await request(`${proxy.url}/two-ids`, {
      headers: ['Host', 'rid.test', 'X-Request-Id', 'first-one', 'X-Request-Id', 'second-one'],
    });
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(res.json<Reflected>().headers['x-request-id']).toBe(id);
  });

  it('gives each request its own generated id', async () => {
    const ids = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(`${proxy.url}/many`).then((r) => r.headers['x-request-id'] as string),
      ),
    );
    expect(new Set(ids).size).toBe(5);
    await waitFor(
      () => ids.every((id) => proxy.accessLog().some((r) => r.req_id === id)),
      'an access record for each id',
    );
  });
});

describe('through a recording upstream', () => {
  let upstream: RecordingUpstream;
  let proxy: ProxyProcess;
  let seq = 0;

  beforeAll(async () => {
    upstream = await recordingUpstream();
    proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
  });

  afterAll(async () => {
    await upstream.close();
  });

  describe('X-Forwarded-For and the other forwarding headers, as the upstream receives them', () => {
    /** [name, client header lines, expected X-Forwarded-For upstream] */
    const cases: [string, string[], string][] = [
      ['no X-Forwarded-For', [], '127.0.0.1'],
      ['a client-sent list', ['x-forwarded-for: 1.2.3.4, 5.6.7.8'], '1.2.3.4, 5.6.7.8, 127.0.0.1'],
      [
        'several X-Forwarded-For headers, any case',
        ['X-Forwarded-For: 1.1.1.1', 'x-forwarded-for: 2.2.2.2, 3.3.3.3', 'X-FORWARDED-FOR: 4.4.4.4'],
        '1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 127.0.0.1',
      ],
      ['garbage', ['x-forwarded-for: <script>, unknown,,'], '<script>, unknown,,, 127.0.0.1'],
      [
        'a spoofed peer address last',
        ['x-forwarded-for: 10.0.0.1, 127.0.0.2'],
        '10.0.0.1, 127.0.0.2, 127.0.0.1',
      ],
      ['an empty value', ['x-forwarded-for: '], '127.0.0.1'],
    ];

    it.each(cases)('%s: the rightmost entry is the real peer', async (_name, lines, xff) => {
      const id = `xff-${++seq}`;
      const raw = `GET /xff HTTP/1.1\r\nhost: t\r\nx-request-id: ${id}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
      const { responses } = await exchange(proxy.port, raw, { expectClose: false });
      expect(responses.map((r) => r.status)).toEqual([200]);
      const seen = upstream.requests.find((r) => r.headerLines.includes(`x-request-id: ${id}`))!;
      expect(seen.headerLines.filter((l) => /^x-forwarded-for:/i.test(l))).toEqual([
        `x-forwarded-for: ${xff}`,
      ]);
      expect(xff.split(',').at(-1)!.trim()).toBe('127.0.0.1');
    });

    it('client-sent X-Forwarded-Proto, X-Forwarded-Host and Forwarded are replaced, never trusted', async () => {
      const raw =
        'GET /fwd HTTP/1.1\r\nhost: t\r\nx-request-id: spoof\r\n' +
        'X-Forwarded-Proto: https\r\nx-forwarded-proto: wss\r\nX-Forwarded-Host: evil.example\r\n' +
        'Forwarded: for=6.6.6.6;host=evil.example;proto=https\r\nforwarded: for=7.7.7.7\r\n' +
        'via: 1.0 client-proxy\r\n\r\n';
      const { responses } = await exchange(proxy.port, raw, { expectClose: false });
      expect(responses.map((r) => r.status)).toEqual([200]);
      const seen = upstream.requests.find((r) => r.headerLines.includes('x-request-id: spoof'))!;
      expect(seen.requestLine).toBe('GET /fwd HTTP/1.1');
      const expected = [
        'host: t',
        'connection: keep-alive',
        ...forwardedHeaderLines('t', 'spoof').map((l) =>
          l.startsWith('via:') ? 'via: 1.0 client-proxy, 1.1 roundguard' : l,
        ),
      ];
      expect([...seen.headerLines].sort()).toEqual(expected.sort());
      expect(seen.raw).not.toMatch(/evil|6\.6\.6\.6|7\.7\.7\.7|https|wss/);
    });
  });
});

describe('through three reflecting upstreams', () => {
  const upstreams = reflectingProxy();
  const { exchange, forwarded, reflected } = upstreams;

  const CLOSE = 'connection: close\r\n';

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
      expect(
        seen.rawHeaders.filter((h) => h.toLowerCase() === 'transfer-encoding').length,
      ).toBeLessThanOrEqual(1);
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
    ])(
      'refuses %s with the exact status and code, forwarding nothing',
      async (_name, header, status, code) => {
        const before = forwarded();
        const res = await exchange(`POST /bad HTTP/1.1\r\nhost: t\r\n${header}${CLOSE}\r\n0\r\n\r\n`);
        expect(res.status).toBe(status);
        expect(errorCodeOf(res)).toBe(code);
        expect(forwarded()).toBe(before);
      },
    );
  });
});
