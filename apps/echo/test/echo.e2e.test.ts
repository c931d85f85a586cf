import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEcho, stopAllEchoes, type EchoProcess } from './helpers/echo-process.js';
import {
  buildRequest,
  chunked,
  exchange,
  json,
  jsonOfSize,
  postJson,
  RawClient,
  type RawResponse,
  type ReadOptions,
} from './helpers/raw-http.js';

const LIMIT = 1000;
let echo: EchoProcess;

beforeAll(async () => {
  echo = await startEcho(['--max-body', String(LIMIT), '--name', 'test-echo', '--request-timeout', '1500']);
});
afterAll(stopAllEchoes);

function expectError(response: RawResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/json');
  expect(response.headers['content-length']).toBe(String(response.body.length));
  const body = json(response) as { error: { code: string; message: unknown } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error)).toEqual(['code', 'message']);
}

/** Sends `request` on a new connection; expects the JSON error `status` / `code`, then the connection closed. */
async function expectClosingError(
  request: string | Buffer,
  status: number,
  code: string,
  options: ReadOptions = {},
): Promise<void> {
  const client = await RawClient.connect(echo.port);
  try {
    await client.write(request);
    const response = await client.readResponse(options);
    expectError(response, status, code);
    expect(response.headers.connection).toBe('close');
    await client.waitEnded();
  } finally {
    client.destroy();
  }
}

describe('POST echo', () => {
  it.each([
    ['an object', '{"a":1,"b":[true,null,"x"]}'],
    ['formatting kept byte for byte', '{ "a" :\n  1 ,\t"b":  [ ]  }\n'],
    ['unicode', '{"text":"héllo wörld ✓ 😀","esc":"\\u00e9\\n"}'],
    ['a bare string', '"just a string"'],
    ['a number', '-12.5e3'],
    ['null', 'null'],
    ['duplicate keys', '{"a":1,"a":2}'],
  ])('answers 200 with the same bytes for %s', async (_name, body) => {
    const response = await exchange(echo.port, postJson(body, {}, '/any/path?x=1'));
    expect(response.status).toBe(200);
    expect(response.body.equals(Buffer.from(body))).toBe(true);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(response.headers['x-echo-name']).toBe('test-echo');
  });

  it.each([
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/vnd.api+json',
    'application/merge-patch+json; charset=UTF-8',
  ])('treats %j as JSON', async (type) => {
    const response = await exchange(echo.port, postJson('{"ok":true}', { 'content-type': type }));
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('{"ok":true}');
    expect(response.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['text/json', 'text/json'],
    ['application/jsonx', 'application/jsonx'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['a missing Content-Type', null],
  ])('answers 415 UNSUPPORTED_MEDIA_TYPE for %s', async (_name, type) => {
    const response = await exchange(echo.port, postJson('{"a":1}', { 'content-type': type }));
    expectError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(response.headers['x-echo-name']).toBe('test-echo');
  });

  it.each([
    ['truncated JSON', '{"a":'],
    ['unquoted keys', '{a:1}'],
    ['a trailing comma', '[1,]'],
    ['single quotes', "'x'"],
    ['only whitespace', '   \n'],
    ['two documents', '{} {}'],
    ['a byte order mark', '\ufeff{}'],
    ['invalid UTF-8 inside a string', Buffer.from([0x22, 0xff, 0xfe, 0x22])],
    ['an overlong UTF-8 encoding', Buffer.from([0x22, 0xc0, 0xaf, 0x22])],
  ])('answers 400 INVALID_JSON for %s', async (_name, body) => {
    expectError(await exchange(echo.port, postJson(body)), 400, 'INVALID_JSON');
  });

  it.each([
    ['Content-Length: 0', postJson('', { 'content-length': '0' })],
    ['no Content-Length and no Transfer-Encoding', postJson('', { 'content-length': null })],
    ['an empty chunked body', postJson(chunked(), { 'transfer-encoding': 'chunked' })],
  ])('answers 400 EMPTY_BODY for %s', async (_name, request) => {
    expectError(await exchange(echo.port, request), 400, 'EMPTY_BODY');
  });

  it('echoes a chunked body written one chunk at a time, with a Content-Length', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      const head = buildRequest({
        path: '/chunked',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      await client.write(head);
      const wire = chunked('{"parts":', '[1,2,', '3]', '}');
      // Split the wire bytes at awkward places, including inside chunk-size lines.
      for (let i = 0; i < wire.length; i += 5) {
        await client.write(wire.subarray(i, i + 5));
        await sleep(2);
      }
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe('{"parts":[1,2,3]}');
      expect(response.headers['content-length']).toBe('17');
      expect(response.headers['transfer-encoding']).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('answers 400 BAD_REQUEST and closes when an HTTP/1.1 request has no Host', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write(postJson('{}', { host: null }));
      expectError(await client.readResponse(), 400, 'BAD_REQUEST');
    } finally {
      client.destroy();
    }
  });
});

describe('other methods and probes', () => {
  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])(
    'answers %s /anything 405 with Allow: POST',
    async (method) => {
      const response = await exchange(echo.port, buildRequest({ method, path: '/anything' }));
      expectError(response, 405, 'METHOD_NOT_ALLOWED');
      expect(response.headers.allow).toBe('POST');
    },
  );

  it('answers HEAD /anything 405 without a body', async () => {
    const response = await exchange(echo.port, buildRequest({ method: 'HEAD', path: '/anything' }), {
      head: true,
    });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST');
  });

  it.each(['/health', '/ready', '/metrics'])(
    'answers PUT %s 405 with Allow: GET, HEAD, POST',
    async (path) => {
      const response = await exchange(echo.port, buildRequest({ method: 'PUT', path, body: '{}' }));
      expectError(response, 405, 'METHOD_NOT_ALLOWED');
      expect(response.headers.allow).toBe('GET, HEAD, POST');
    },
  );

  it('answers GET /health 200 {"status":"ok"}, with or without a query string', async () => {
    for (const path of ['/health', '/health?probe=1']) {
      const response = await exchange(echo.port, buildRequest({ method: 'GET', path }));
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(json(response)).toEqual({ status: 'ok' });
    }
  });

  it('answers HEAD /health 200 with headers only', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write(buildRequest({ method: 'HEAD', path: '/health' }));
      const response = await client.readResponse({ head: true });
      expect(response.status).toBe(200);
      expect(response.headers['content-length']).toBe('15');
      // Nothing follows the head: a next request on the connection is answered cleanly.
      await client.write(buildRequest({ method: 'GET', path: '/health' }));
      expect(json(await client.readResponse())).toEqual({ status: 'ok' });
    } finally {
      client.destroy();
    }
  });

  it('answers GET /ready 200 {"status":"ready"} while serving', async () => {
    const response = await exchange(echo.port, buildRequest({ method: 'GET', path: '/ready' }));
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({ status: 'ready' });
  });

  it('serves Prometheus metrics on GET /metrics, counting requests by method and code', async () => {
    await exchange(echo.port, postJson('{"counted":true}'));
    const response = await exchange(echo.port, buildRequest({ method: 'GET', path: '/metrics' }));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body.toString();
    expect(text).toMatch(/^echo_http_requests_total\{method="POST",code="200"\} [1-9]/m);
    expect(text).toContain('# TYPE echo_http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE echo_http_requests_in_flight gauge');
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('body size limit', () => {
  it('accepts a body of exactly --max-body bytes with Content-Length', async () => {
    const body = jsonOfSize(LIMIT);
    const response = await exchange(echo.port, postJson(body));
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe(body);
  });

  it('accepts a chunked body of exactly --max-body bytes', async () => {
    const body = jsonOfSize(LIMIT);
    const request = postJson(chunked(body.slice(0, 300), body.slice(300)), {
      'transfer-encoding': 'chunked',
    });
    const response = await exchange(echo.port, request);
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe(body);
  });

  it('answers 413 from a Content-Length one byte over, before the body is sent, and closes', async () => {
    // Only the head goes out: the answer must not wait for the body.
    await expectClosingError(postJson('', { 'content-length': String(LIMIT + 1) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 413 when a body one byte over is sent whole with its Content-Length', async () => {
    const response = await exchange(echo.port, postJson(jsonOfSize(LIMIT + 1)));
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    expect(response.headers.connection).toBe('close');
  });

  it('answers 413 when a chunked body goes one byte over, and closes the connection', async () => {
    const body = jsonOfSize(LIMIT + 1);
    await expectClosingError(
      postJson(chunked(body.slice(0, 500), body.slice(500)), { 'transfer-encoding': 'chunked' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('answers 413 as soon as a chunked body passes the limit, without waiting for its end', async () => {
    // Twice the limit, and no terminating chunk: the body never ends.
    const piece = `100\r\n${'a'.repeat(256)}\r\n`;
    await expectClosingError(
      postJson(piece.repeat(Math.ceil((2 * LIMIT) / 256)), { 'transfer-encoding': 'chunked' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('does not keep reading a body that never ends after its 413: the connection is closed', async () => {
    // A client that ignores the server's FIN and keeps sending.
    const client = await RawClient.connect(echo.port, true);
    try {
      await client.write(postJson('', { 'transfer-encoding': 'chunked' }));
      const piece = Buffer.from(`10000\r\n${'a'.repeat(0x10000)}\r\n`);
      const cap = 256 * 1024 * 1024;
      let sent = 0;
      // Write as fast as the server takes it: once it stops reading, the kernel buffers fill, the writes stall,
      // and the server closes the connection a little later.
      while (!client.closed && client.error === undefined && sent < cap) {
        await client.write(piece);
        sent += piece.length;
      }
      expect(sent).toBeLessThan(cap);
      const response = await client.readResponse().catch(() => undefined);
      if (response) expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    } finally {
      client.destroy();
    }
  });

  it('answers 413 without "100 Continue" when Expect: 100-continue comes with a too-large Content-Length', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write(postJson('', { expect: '100-continue', 'content-length': String(LIMIT + 1) }));
      const response = await client.readResponse();
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    } finally {
      client.destroy();
    }
  });

  it('sends "100 Continue" for an acceptable Expect: 100-continue request, then echoes', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write(postJson('', { expect: '100-continue', 'content-length': '7' }));
      expect((await client.readResponse()).status).toBe(100);
      await client.write('{"a":1}');
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe('{"a":1}');
    } finally {
      client.destroy();
    }
  });

  it('answers 417 EXPECTATION_FAILED for any other Expect', async () => {
    expectError(
      await exchange(echo.port, postJson('{}', { expect: 'something-else' })),
      417,
      'EXPECTATION_FAILED',
    );
  });
});

describe('slow and broken clients', () => {
  it('answers 408 REQUEST_TIMEOUT and closes when a client sends Content-Length and then stops', async () => {
    await expectClosingError(postJson('{"a":', { 'content-length': '20' }), 408, 'REQUEST_TIMEOUT', {
      timeoutMs: 15_000,
    });
    const record = await echo.waitForLog((r) => r.msg === 'request completed' && r.status === 408);
    expect(record).toMatchObject({ method: 'POST', error_code: 'REQUEST_TIMEOUT', bytes_in: 5 });
  });

  it('answers 408 REQUEST_TIMEOUT and closes when the headers never end', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write('POST / HTTP/1.1\r\nHost: x\r\n');
      const response = await client.readResponse({ timeoutMs: 15_000 });
      expectError(response, 408, 'REQUEST_TIMEOUT');
      await client.waitEnded();
    } finally {
      client.destroy();
    }
  });

  it.each([
    ['garbage', 'NOT HTTP AT ALL\r\n\r\n'],
    [
      'a bad Content-Length',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'a bad chunk size',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ],
  ])('answers 400 BAD_REQUEST as JSON and closes for %s', async (_name, raw) => {
    await expectClosingError(raw, 400, 'BAD_REQUEST');
  });

  it('survives a client that disconnects in the middle of a body, and logs it as 499', async () => {
    const client = await RawClient.connect(echo.port);
    await client.write(postJson('{"cut', { 'content-length': '50', 'x-request-id': 'cut-off-1' }, '/cut'));
    // Wait until the server is reading the body (the request shows as in flight), then vanish.
    await sleep(100);
    client.destroy();
    const record = await echo.waitForLog((r) => r.req_id === 'cut-off-1');
    expect(record).toMatchObject({ status: 499, error_code: 'CLIENT_CLOSED_REQUEST', path: '/cut' });
    expect((await exchange(echo.port, buildRequest({ method: 'GET', path: '/health' }))).status).toBe(200);
  });
});

describe('keep-alive', () => {
  it('serves several requests, errors included, on one connection', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      const steps: [Buffer, number, string | null][] = [
        [postJson('{"n":1}'), 200, '{"n":1}'],
        [postJson('{"n":'), 400, null],
        [buildRequest({ method: 'GET', path: '/health' }), 200, '{"status":"ok"}'],
        [postJson(chunked('{"n":', '4}'), { 'transfer-encoding': 'chunked' }), 200, '{"n":4}'],
        [buildRequest({ method: 'GET', path: '/nope' }), 405, null],
        [postJson('', { 'content-length': '0' }), 400, null],
        [postJson('[5]'), 200, '[5]'],
      ];
      for (const [request, status, body] of steps) {
        await client.write(request);
        const response = await client.readResponse();
        expect(response.status).toBe(status);
        if (body !== null) expect(response.body.toString()).toBe(body);
        expect(response.headers.connection).toBe('keep-alive');
      }
      expect(client.ended).toBe(false);
    } finally {
      client.destroy();
    }
  });

  it('answers pipelined requests in order', async () => {
    const client = await RawClient.connect(echo.port);
    try {
      await client.write(Buffer.concat([postJson('1'), postJson('2'), postJson('3')]));
      for (const expected of ['1', '2', '3'])
        expect((await client.readResponse()).body.toString()).toBe(expected);
    } finally {
      client.destroy();
    }
  });
});

describe('access log', () => {
  it('writes one "request completed" record per request with the documented fields', async () => {
    await exchange(
      echo.port,
      postJson('{"logged":1}', { 'x-request-id': 'req-abc-123' }, '/logged?secret=1'),
    );
    const record = await echo.waitForLog((r) => r.req_id === 'req-abc-123');
    expect(record).toMatchObject({
      level: 'info',
      msg: 'request completed',
      method: 'POST',
      path: '/logged',
      status: 200,
      bytes_in: 12,
      bytes_out: 12,
      client_ip: '127.0.0.1',
      req_id: 'req-abc-123',
    });
    expect(typeof record.duration_ms).toBe('number');
    expect(typeof record.time).toBe('string');
    expect(record.error_code).toBeUndefined();
    expect(echo.logs.filter((r) => r.req_id === 'req-abc-123')).toHaveLength(1);
  });

  it('logs the error code of an error response, and leaves out an insane X-Request-Id', async () => {
    await exchange(echo.port, postJson('{', { 'x-request-id': 'bad id with spaces' }, '/insane-id'));
    const record = await echo.waitForLog((r) => r.path === '/insane-id');
    expect(record).toMatchObject({ status: 400, error_code: 'INVALID_JSON', bytes_in: 1 });
    expect(record.req_id).toBeUndefined();
  });
});

describe('default limit (1 MiB)', () => {
  let big: EchoProcess;
  beforeAll(async () => {
    big = await startEcho();
  });

  it('names itself echo-<port> by default', async () => {
    const response = await exchange(big.port, buildRequest({ method: 'GET', path: '/health' }));
    expect(response.headers['x-echo-name']).toBe(`echo-${big.port}`);
  });

  it('echoes a body of exactly 1048576 bytes', async () => {
    const body = jsonOfSize(1048576);
    const response = await exchange(big.port, postJson(body));
    expect(response.status).toBe(200);
    expect(response.body.equals(Buffer.from(body))).toBe(true);
  });

  it('answers 413 to a 1048577-byte body sent whole, without resetting the connection first', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await exchange(big.port, postJson(jsonOfSize(1048577)));
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('answers 413 to a 1048577-byte chunked body', async () => {
    const body = jsonOfSize(1048577);
    const response = await exchange(
      big.port,
      postJson(chunked(body.slice(0, 70000), body.slice(70000)), { 'transfer-encoding': 'chunked' }),
    );
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
  });
});
