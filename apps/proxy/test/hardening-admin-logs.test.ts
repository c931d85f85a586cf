// The admin port forwards nothing, whatever is sent to it; metric label values stay within a documented
// set whatever clients send; every request makes exactly one access-log line (rejected ones included),
// every line is JSON, and no client-controlled byte can forge or break a line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, type HttpBackend } from './helpers/backends.js';
import { getMetrics, rawExchange, request, sleep, waitFor } from './helpers/http.js';
import { errorCodeOf, parseRaw, reflectingBackend } from './helpers/hardening.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

let backends: HttpBackend[];

beforeAll(async () => {
  backends = await Promise.all(['A', 'B', 'C'].map((name) => reflectingBackend(name)));
});

afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

const forwarded = (): number => backends.reduce((n, b) => n + b.count, 0);

/** A deterministic pseudo-random generator (the same cases on every run). */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('the admin port', () => {
  let proxy: ProxyProcess;
  beforeAll(async () => {
    proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
  });

  it.each([
    [
      'an absolute-form target to an upstream',
      `GET ${'http://127.0.0.1'}/x HTTP/1.1\r\nhost: 127.0.0.1\r\n`,
      404,
      'NOT_FOUND',
    ],
    [
      'an absolute-form target to /metrics',
      'GET http://admin/metrics HTTP/1.1\r\nhost: admin\r\n',
      404,
      'NOT_FOUND',
    ],
    ['a proxy-style path', 'GET /api/users?id=1 HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
    ['a near miss of /metrics', 'GET /metrics/ HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
    ['upper-case /METRICS', 'GET /METRICS HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
    ['a dot-dot path', 'GET /x/../metrics HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
    ['a double slash', 'GET //metrics HTTP/1.1\r\nhost: t\r\n', 404, 'NOT_FOUND'],
    [
      'POST with a JSON body',
      'POST /upstreams HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
      405,
      'METHOD_NOT_ALLOWED',
    ],
    ['PUT', 'PUT /metrics HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\n\r\nx', 405, 'METHOD_NOT_ALLOWED'],
    ['DELETE', 'DELETE /upstreams HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ['OPTIONS', 'OPTIONS /healthz HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ['PURGE', 'PURGE /readyz HTTP/1.1\r\nhost: t\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ['CONNECT', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nhost: 127.0.0.1:80\r\n', 405, 'METHOD_NOT_ALLOWED'],
    [
      'an Upgrade to websocket',
      'GET /x HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: websocket\r\n',
      404,
      'NOT_FOUND',
    ],
    ['an unknown method', 'BREW /metrics HTTP/1.1\r\nhost: t\r\n', 501, 'NOT_IMPLEMENTED'],
    ['bytes that are not HTTP (no request line)', 'SSH-2.0-OpenSSH_9.6\r\n', 400, 'BAD_REQUEST'],
    [
      'a request line with a broken protocol name',
      'GET /metrics XTTP/1.1\r\nhost: t\r\n',
      400,
      'BAD_REQUEST',
    ],
    ['a bad header', 'GET /metrics HTTP/1.1\r\nhost: t\r\nx-a: a\x00b\r\n', 400, 'BAD_REQUEST'],
  ])('answers %s with its exact status and code, forwarding nothing', async (_name, head, status, code) => {
    const before = forwarded();
    const { data } = await rawExchange(proxy.adminPort, `${head}connection: close\r\n\r\n`, 5000);
    const res = parseRaw(data);
    expect(res.status).toBe(status);
    expect(errorCodeOf(res)).toBe(code);
    if (status === 405) expect(res.headers.allow).toBe('GET, HEAD');
    expect(forwarded()).toBe(before);
  });

  it('refuses a 4 MiB body to a known path with 405, forwarding nothing, and keeps serving', async () => {
    const before = forwarded();
    const body = Buffer.alloc(4 * 1024 * 1024, 0x7b);
    const { data } = await rawExchange(
      proxy.adminPort,
      Buffer.concat([
        Buffer.from(`POST /metrics HTTP/1.1\r\nhost: t\r\ncontent-length: ${body.length}\r\n\r\n`),
        body,
      ]),
      5000,
    );
    expect(parseRaw(data).status).toBe(405);
    expect(forwarded()).toBe(before);
    expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
    // Nothing of this reached the proxy's own counters either.
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(samples.filter((s) => s.name === 'roundguard_requests_total')).toEqual([]);
    expect(proxy.records.filter((r) => r.msg === 'request completed')).toEqual([]);
  });
});

describe('labels, log lines and forged bytes', () => {
  let proxy: ProxyProcess;
  /** Requests sent to the proxy port in this block, each on its own connection. */
  let sent = 0;

  async function send(bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
    sent++;
    const { data } = await rawExchange(
      proxy.port,
      typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes,
      timeoutMs,
    );
    return data;
  }

  beforeAll(async () => {
    proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
  });

  const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];
  const CUSTOM = [
    'PURGE',
    'LINK',
    'MKCOL',
    'PROPFIND',
    'REPORT',
    'FOO',
    'X-CUSTOM',
    'brew',
    'Get',
    'M3THOD!',
  ];

  it('keeps every label value of the proxy metrics within the documented set, whatever the clients send', async () => {
    const random = prng(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const token = (n: number): string =>
      Array.from({ length: n }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789-._~'])).join('');
    for (let i = 0; i < 100; i++) {
      const method = random() < 0.5 ? pick(STANDARD) : pick(CUSTOM);
      const path = `/${token(1 + Math.floor(random() * 40))}/${token(5)}?${token(6)}=${token(6)}`;
      const host =
        random() < 0.2
          ? ''
          : `host: ${token(10)}.${pick(['test', 'example', 'invalid'])}:${Math.floor(random() * 65535)}\r\n`;
      const body = method === 'GET' || method === 'HEAD' ? '' : token(Math.floor(random() * 50));
      await send(
        `${method} ${path} HTTP/1.1\r\n${host}user-agent: ${token(12)}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    const { text, samples } = await getMetrics(proxy.adminUrl);
    const ours = samples.filter((s) => s.name.startsWith('roundguard_'));
    const values = (label: string): Set<string> =>
      new Set(ours.filter((s) => s.labels[label] !== undefined).map((s) => s.labels[label] as string));
    const methods = values('method');
    for (const m of methods) expect([...STANDARD, 'CONNECT', 'OTHER']).toContain(m);
    expect(methods.has('OTHER')).toBe(true);
    for (const outcome of values('outcome'))
      expect(['ok', 'upstream_error', 'timeout', 'no_upstream', 'client_abort', 'rejected']).toContain(
        outcome,
      );
    for (const code of values('code')) expect(code).toMatch(/^[1-5]\d\d$/);
    for (const upstream of values('upstream'))
      expect([...backends.map((b) => b.url), 'none']).toContain(upstream);
    // Nothing a client chose is in the exposition: not a path, a host, a user agent, a custom method.
    for (const m of CUSTOM.filter((c) => !STANDARD.includes(c))) expect(text).not.toContain(`"${m}"`);
    expect(text).not.toMatch(/\.(test|example|invalid)/);
    // The number of request series stays small: upstream x method x code x outcome over a few codes.
    expect(ours.filter((s) => s.name === 'roundguard_requests_total').length).toBeLessThanOrEqual(60);
  });

  it('writes exactly one access line per request sent, rejected ones included', async () => {
    // Requests refused by the proxy or by the HTTP parser count as much as forwarded ones.
    const recordsBefore = proxy.records.length;
    const rejected = [
      'GET /a b HTTP/1.1\r\nhost: t\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
      'POST / HTTP/1.1\r\nhost: t\r\nexpect: foo\r\ncontent-length: 2\r\n\r\nab',
      'POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      'CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n',
      'GET / HTTP/2.0\r\nhost: t\r\n\r\n',
      `GET / HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'SSH-2.0-OpenSSH_9.6\r\n\r\n',
    ];
    for (const bytes of rejected) await send(bytes);
    // A client that goes away mid-body (after 200 ms): one 499 record, not also one for the parser error.
    await send('POST /gone HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\nabc', 200);
    await send('POST /gone HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n', 200);
    await waitFor(
      () => proxy.records.filter((r) => r.msg === 'request completed').length >= sent,
      `${sent} access records`,
    );
    await sleep(300); // and no more come
    const access = proxy.records.filter((r) => r.msg === 'request completed');
    expect(access).toHaveLength(sent);
    // Refused by the proxy or by the parser: outcome `rejected` (the bad chunk after a forwarded head too).
    const refused = proxy.records
      .slice(recordsBefore)
      .filter((r) => r.msg === 'request completed' && r.outcome === 'rejected');
    expect(refused).toHaveLength(rejected.length);
    const { samples } = await getMetrics(proxy.adminUrl);
    const counted = samples
      .filter((s) => s.name === 'roundguard_requests_total')
      .reduce((n, s) => n + s.value, 0);
    expect(counted).toBe(sent);
  });

  it('keeps client-controlled bytes inside one escaped JSON line', async () => {
    const before = proxy.records.length;
    const nasty = [
      // Header values may carry bytes 0x80-0xFF: C1 controls (NEL, CSI), and U+2028 as UTF-8 bytes.
      `GET /p HTTP/1.1\r\nhost: evil\x85{"msg":"forged"}\r\nconnection: close\r\n\r\n`,
      `GET /p HTTP/1.1\r\nhost: a\x9b31mred\r\nconnection: close\r\n\r\n`,
      Buffer.concat([
        Buffer.from('GET /p HTTP/1.1\r\nhost: line'),
        Buffer.from('\u2028\u2029', 'utf8'),
        Buffer.from('sep\r\nconnection: close\r\n\r\n'),
      ]),
      `GET /p HTTP/1.1\r\nhost: t\r\nx-request-id: id\x85forged\r\nconnection: close\r\n\r\n`,
      `GET /p HTTP/1.1\r\nhost: t\r\nuser-agent: ua\xff\x85\x1b\r\nconnection: close\r\n\r\n`,
      // Encoded controls stay encoded in the path; the query is never logged.
      `GET /%0d%0a%1b[31m%e2%80%a8?q=%0a{"msg":"forged"} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      // Raw controls the HTTP parser refuses: rejected, still one line each.
      `GET /a\x1bb HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      `GET /a\rb HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      `GET /p HTTP/1.1\r\nhost: t\r\nx-request-id: a\x1bb\r\nconnection: close\r\n\r\n`,
      `GET /p HTTP/1.1\r\nhost: a\rb\r\nconnection: close\r\n\r\n`,
      `GE\x1bT /p HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      `GET\x85 /p HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
    ];
    for (const bytes of nasty) await send(bytes);
    await waitFor(() => proxy.records.length - before >= nasty.length, `${nasty.length} more records`);
    await sleep(300);
    const fresh = proxy.records.slice(before);
    expect(fresh).toHaveLength(nasty.length);
    expect(fresh.every((r) => r.msg === 'request completed')).toBe(true);
    expect(fresh.filter((r) => r.msg === 'forged')).toEqual([]);
    // The host values arrived intact (escaped on the way, parsed back here).
    expect(fresh.some((r) => r.host === 'evil\x85{"msg":"forged"}')).toBe(true);
    // A request id with a control character is not "sane": a UUID replaces it.
    expect(fresh.some((r) => String(r.req_id).includes('forged'))).toBe(false);

    // On the wire: every stdout line is one JSON object, with no raw control or line-separator character.
    const lines = proxy.stdout().split('\n');
    expect(lines.pop()).toBe('');
    for (const line of lines) {
      expect(() => {
        JSON.parse(line);
      }, line).not.toThrow();
      // eslint-disable-next-line no-control-regex
      expect(line, JSON.stringify(line)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }
    expect(proxy.records.filter((r) => r.msg === '(not json)')).toEqual([]);
  });
});
