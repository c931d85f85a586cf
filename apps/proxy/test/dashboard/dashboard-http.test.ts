// The dashboard's handler over real HTTP (a node:http server on 127.0.0.1:0, a real TrafficHistory fed by
// real requests to real backends): the server-rendered table, escaping, the security headers, the
// assets and their caching, and /events (framing, updates, viewers going away, close(), the bound).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Script } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createDashboard } from '../../src/dashboard/dashboard.js';
import type { DashboardSnapshot } from '../../src/dashboard/rows.js';
import { TrafficHistory } from '../../src/dashboard/traffic-history.js';
import { closeAllBackends, closedPort, httpBackend } from '../helpers/backends.js';
import { rawExchange, request, sleep, waitFor } from '../helpers/http.js';
import {
  benchUpstream,
  openEvents,
  sendTraffic,
  startDashboardBench,
  type DashboardBench,
  type EventReader,
} from './harness.js';

const HOSTILE_NAME = `<img src=x onerror=alert(1)>"'&amp;`;
const HOSTILE_URL = `http://127.0.0.1:1/"><script>alert(2)</script>`;
const HOSTILE_ERROR = `</td></tr><script>alert(3)</script>`;

/** Tag names the page may contain; anything else would be markup that came from a value. */
const PAGE_TAGS = new Set(
  'html head meta title link script noscript body header h1 p main section form label input button div table thead tbody tr th td span svg polyline'.split(
    ' ',
  ),
);

const benches: DashboardBench[] = [];
const readers: EventReader[] = [];
async function bench(...args: Parameters<typeof startDashboardBench>): Promise<DashboardBench> {
  const b = await startDashboardBench(...args);
  benches.push(b);
  return b;
}
async function events(url: string): Promise<EventReader> {
  const r = await openEvents(url);
  readers.push(r);
  return r;
}

afterEach(async () => {
  for (const r of readers.splice(0)) r.close();
  await Promise.all(benches.splice(0).map((b) => b.close()));
});
afterAll(closeAllBackends);

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

describe('GET / (the page)', () => {
  let ok: Awaited<ReturnType<typeof httpBackend>>;
  let failing: Awaited<ReturnType<typeof httpBackend>>;
  let deadUrl: string;

  beforeAll(async () => {
    ok = await httpBackend((_req, res) => res.end('ok'));
    failing = await httpBackend((_req, res) => {
      res.statusCode = 503;
      res.end('no');
    });
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
  });

  it('answers text/html with the table of every upstream, filled from recorded traffic', async () => {
    const b = await bench({
      upstreams: [
        benchUpstream('ok:1', ok.url, { weight: 3, inFlight: 2 }),
        benchUpstream('mixed:2', failing.url, { state: 'ejected' }),
        benchUpstream('dead:3', deadUrl, {
          state: 'down',
          lastProbe: {
            at: new Date(Date.now() - 4500).toISOString(),
            ok: false,
            result: 'error',
            error: 'ECONNREFUSED',
          },
        }),
      ],
    });
    await sendTraffic(b.history, 'ok:1', ok.url, 20);
    await sendTraffic(b.history, 'mixed:2', ok.url, 6);
    await sendTraffic(b.history, 'mixed:2', failing.url, 2);
    await sendTraffic(b.history, 'dead:3', deadUrl, 3);

    const res = await request(`${b.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers).toMatchObject({ ...SECURITY_HEADERS, 'cache-control': 'no-store' });
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    const html = res.text();
    const rows = [...html.matchAll(/<tr class="row row-([a-z]+)" data-name="([^"]*)">/g)].map((m) => [
      m[2],
      m[1],
    ]);
    expect(rows).toEqual([
      ['ok:1', 'up'],
      ['mixed:2', 'ejected'],
      ['dead:3', 'down'],
    ]);
    const row = (name: string): string => {
      const start = html.indexOf(`data-name="${name}"`);
      return html.slice(start, html.indexOf('</tr>', start));
    };
    expect(row('ok:1')).toContain('<span class="state state-up">up</span>');
    expect(row('ok:1')).toContain('data-label="Weight">3</td>');
    expect(row('ok:1')).toContain('data-label="In flight">2</td>');
    expect(row('ok:1')).toContain('title="0 of 20 requests in the last minute">0 %</td>');
    expect(row('ok:1')).toMatch(/data-label="p50">[\d.]+ ms<\/td>/);
    expect(row('ok:1')).toMatch(/data-label="p99">[\d.]+ ms<\/td>/);
    expect(row('ok:1')).toContain('<span class="probe probe-ok">ok · 1 s ago</span>');
    expect(row('ok:1')).toMatch(
      /<svg class="spark"[^>]*><title>req\/s over the last 5 minutes, peak [\d.k]+<\/title><polyline points="[\d., ]+"><\/polyline><\/svg>/,
    );
    expect(row('mixed:2')).toContain('<span class="state state-ejected">ejected</span>');
    expect(row('mixed:2')).toContain('title="2 of 8 requests in the last minute">25 %</td>');
    expect(row('dead:3')).toContain('title="3 of 3 requests in the last minute">100 %</td>');
    expect(row('dead:3')).toContain('<span class="probe probe-failed">error · 4 s ago</span>');
    expect(row('dead:3')).toContain('<span class="probe-error">ECONNREFUSED</span>');
    expect(html).toContain('<p id="summary" class="summary">3 upstreams: 1 up, 1 down, 1 ejected</p>');
  });

  it('shows a dash, not a number, where there is no traffic and no probe yet', async () => {
    const b = await bench({
      upstreams: [benchUpstream('idle:1', ok.url, { lastProbe: null, state: 'maint' })],
    });
    const html = (await request(`${b.url}/`)).text();
    expect(html).toContain('data-label="req/s">0</td>');
    expect(html).toContain('title="0 of 0 requests in the last minute">–</td>');
    expect(html).toContain('data-label="p50">–</td>');
    expect(html).toContain('<span class="probe probe-none">none yet</span>');
    expect(html).toContain('<span class="state state-maint">maint</span>');
  });

  it('escapes hostile names, URLs and probe errors, so no value becomes markup', async () => {
    const b = await bench({
      upstreams: [
        benchUpstream(HOSTILE_NAME, HOSTILE_URL, {
          state: 'down',
          lastProbe: { at: Date.now(), ok: false, result: '<b>bad</b>', error: HOSTILE_ERROR },
        }),
        // A state this page does not know is shown as its word, with the neutral colour.
        { ...benchUpstream('odd', ok.url), state: '"><script>x</script>' as 'up' },
      ],
    });
    await sendTraffic(b.history, HOSTILE_NAME, ok.url, 2);
    const html = (await request(`${b.url}/`)).text();
    for (const raw of [HOSTILE_NAME, HOSTILE_URL, HOSTILE_ERROR, '<b>bad</b>', '<script>x']) {
      expect(html).not.toContain(raw);
    }
    expect(html).toContain(
      '<span class="name">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;amp;</span>',
    );
    expect(html).toContain('data-name="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;amp;"');
    expect(html).toContain('&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
    expect(html).toContain(
      '<span class="state state-unknown">&quot;&gt;&lt;script&gt;x&lt;/script&gt;</span>',
    );
    // Every tag in the page is one the page itself writes, and the one script is the external file.
    const tags = [...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => (m[1] as string).toLowerCase());
    expect(tags.filter((t) => !PAGE_TAGS.has(t))).toEqual([]);
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
      expect.stringMatching(/^<script src="\/dashboard\.js\?v=[0-9a-f]{16}" defer>$/),
    ]);
    expect(html.match(/<tr class="row/g)).toHaveLength(2);
  });

  it('loads nothing from elsewhere and has no inline script, style or event handler', async () => {
    const b = await bench({ upstreams: [benchUpstream('a', ok.url)] });
    const html = (await request(`${b.url}/`)).text();
    const refs = [...html.matchAll(/\s(?:src|href|action)="([^"]*)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBe(3);
    for (const ref of refs) expect(ref).toMatch(/^(\/[a-z.]+\?v=[0-9a-f]{16}|data:,)$/);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+=/);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('answers HEAD with the headers and no body, other methods with 405', async () => {
    const b = await bench({ upstreams: [benchUpstream('a', ok.url)] });
    const head = await request(`${b.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers).toMatchObject(SECURITY_HEADERS);
    for (const [method, path, allow] of [
      ['POST', '/', 'GET, HEAD'],
      ['DELETE', '/dashboard.js', 'GET, HEAD'],
      ['POST', '/events', 'GET'],
      ['HEAD', '/events', 'GET'],
    ] as const) {
      const res = await request(`${b.url}${path}`, { method });
      expect([method, path, res.status, res.headers.allow]).toEqual([method, path, 405, allow]);
      if (method !== 'HEAD')
        expect(res.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' } });
    }
  });

  it('leaves other paths to the admin server, untouched', async () => {
    const b = await bench({ upstreams: [benchUpstream('a', ok.url)] });
    for (const path of ['/metrics', '/upstreams', '/index.html', '/events/x', '//', '/dashboard.jsx']) {
      const res = await request(`${b.url}${path}`);
      expect([path, res.status]).toEqual([path, path === '/upstreams' ? 200 : 404]);
    }
    // The handler returns false without writing anything for a path it does not own.
    let wrote = false;
    const fake = {
      setHeader: () => (wrote = true),
      writeHead: () => (wrote = true),
      end: () => (wrote = true),
    };
    const handled = b.dashboard.handle(
      { url: '/metrics', method: 'GET', headers: {} } as IncomingMessage,
      fake as unknown as ServerResponse,
    );
    expect([handled, wrote]).toEqual([false, false]);
  });

  it('answers 500 STATUS_UNAVAILABLE, and reports the error, when the status cannot be read', async () => {
    const errors: unknown[] = [];
    const b = await bench({
      upstreams: [],
      dashboard: {
        status: () => Promise.reject(new Error('workers did not answer')),
        onError: (err) => errors.push(err),
      },
    });
    const res = await request(`${b.url}/`);
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({
      error: { code: 'STATUS_UNAVAILABLE', message: 'the upstream status could not be read' },
    });
    expect(errors).toEqual([new Error('workers did not answer')]);
  });

  it('renders an empty set of upstreams as such', async () => {
    const b = await bench({ upstreams: [] });
    const html = (await request(`${b.url}/`)).text();
    expect(html).toContain('<tbody id="rows"></tbody>');
    expect(html).toContain('No upstreams.');
  });
});

describe('GET /dashboard.js and /dashboard.css', () => {
  it('serves the assets the page links, cached for good under their versioned URL, with an ETag', async () => {
    const b = await bench({ upstreams: [] });
    const html = (await request(`${b.url}/`)).text();
    const js = /src="(\/dashboard\.js\?v=[0-9a-f]{16})"/.exec(html)?.[1] as string;
    const css = /href="(\/dashboard\.css\?v=[0-9a-f]{16})"/.exec(html)?.[1] as string;
    for (const [path, type] of [
      [js, 'text/javascript; charset=utf-8'],
      [css, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await request(`${b.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        ...SECURITY_HEADERS,
        'content-type': type,
        'cache-control': 'public, max-age=31536000, immutable',
      });
      expect(res.headers.etag).toBe(`"${path.split('v=')[1]}"`);
      const bare = await request(`${b.url}${path.split('?')[0]}`);
      expect(bare.headers['cache-control']).toBe('no-cache');
      expect(bare.body.equals(res.body)).toBe(true);
      const again = await request(`${b.url}${path}`, { headers: { 'if-none-match': res.headers.etag! } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      const other = await request(`${b.url}${path}`, { headers: { 'if-none-match': '"something-else"' } });
      expect(other.status).toBe(200);
    }
  });

  it('serves a script that parses, runs only in a function scope and places values as text', async () => {
    const b = await bench({ upstreams: [] });
    const js = (await request(`${b.url}/dashboard.js`)).text();
    expect(() => new Script(js, { filename: 'dashboard.js' })).not.toThrow();
    expect(js).toMatch(/^\(function \(\) \{\n {2}'use strict';/);
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(js).not.toMatch(/localStorage|document\.cookie|location\.(search|hash|href)\s*=/);
    expect(js).toContain("new EventSource('/events')");
    expect(js).toContain("fetch('/upstreams/' + encodeURIComponent(r.name)");
  });
});

describe('GET /events', () => {
  const upstreams = () => [
    benchUpstream('a:1', 'http://127.0.0.1:1'),
    benchUpstream('b:2', 'http://127.0.0.1:2'),
  ];

  it('sends a retry hint, then one data frame with the JSON snapshot at once and about one a second', async () => {
    const b = await bench({ upstreams: upstreams() });
    const r = await events(`${b.url}/events`);
    expect(r.res.statusCode).toBe(200);
    expect(r.res.headers).toMatchObject({
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
    });
    expect(await r.next()).toBe('retry: 2000');
    const first = await r.next(2000);
    expect(first).toMatch(/^data: \{.*\}$/);
    expect(first).not.toContain('\n');
    const snap = JSON.parse(first.slice(6)) as DashboardSnapshot;
    expect(snap.upstreams.map((u) => [u.name, u.state, u.stateClass])).toEqual([
      ['a:1', 'up', 'up'],
      ['b:2', 'up', 'up'],
    ]);
    expect(Date.now() - Date.parse(snap.at)).toBeLessThan(5000);
    const started = Date.now();
    await r.nextData(3000);
    await r.nextData(3000);
    // Two more frames in at most ~2 s of a 1 s interval (generous bound for a busy machine).
    expect(Date.now() - started).toBeLessThan(4500);
    expect(r.raw()).toMatch(/^retry: 2000\n\n(data: [^\n]+\n\n)+/);
  });

  it('shows status changes, new upstreams and removed ones in the next frames', async () => {
    const b = await bench({ upstreams: upstreams(), dashboard: { intervalMs: 200 } });
    const r = await events(`${b.url}/events`);
    await r.nextData();
    b.upstreams[0]!.state = 'down';
    b.upstreams.push(benchUpstream('c:3', 'http://127.0.0.1:3'));
    b.upstreams.splice(1, 1);
    const snap = await waitFor(async () => {
      const s = await r.nextData<DashboardSnapshot>();
      return s.upstreams.length === 2 && s.upstreams[0]?.state === 'down' ? s : undefined;
    }, 'the change to show');
    expect(snap.upstreams.map((u) => [u.name, u.state])).toEqual([
      ['a:1', 'down'],
      ['c:3', 'up'],
    ]);
  });

  it('carries the traffic recorded since the previous frame', async () => {
    const backend = await httpBackend((_req, res) => res.end('ok'));
    const b = await bench({ upstreams: [benchUpstream('a:1', backend.url)], dashboard: { intervalMs: 200 } });
    const r = await events(`${b.url}/events`);
    const before = await r.nextData<DashboardSnapshot>();
    expect(before.upstreams[0]?.text.errorsTitle).toBe('0 of 0 requests in the last minute');
    await sendTraffic(b.history, 'a:1', backend.url, 7);
    const after = await waitFor(async () => {
      const s = await r.nextData<DashboardSnapshot>();
      return s.upstreams[0]?.text.errorsTitle === '0 of 7 requests in the last minute' ? s : undefined;
    }, 'the traffic to show');
    expect(after.upstreams[0]?.p50Ms).toBeGreaterThan(0);
  });

  it('forgets a viewer that goes away, and its connection closes', async () => {
    const b = await bench({ upstreams: upstreams(), dashboard: { intervalMs: 200 } });
    const r1 = await events(`${b.url}/events`);
    const r2 = await events(`${b.url}/events`);
    await r1.nextData();
    await r2.nextData();
    expect(b.dashboard.eventStreams).toBe(2);
    r1.close();
    await waitFor(() => b.dashboard.eventStreams === 1, 'one stream to be left');
    await r2.nextData(); // the other one goes on
    r2.close();
    await waitFor(() => b.dashboard.eventStreams === 0, 'no stream to be left');
    await waitFor(
      () => new Promise<boolean>((resolve) => b.server.getConnections((_e, n) => resolve(n === 0))),
      'the connections to close',
    );
  });

  it('ends every stream on close() and refuses new ones with 503, so the server can close', async () => {
    const b = await bench({ upstreams: upstreams() });
    const r1 = await events(`${b.url}/events`);
    const r2 = await events(`${b.url}/events`);
    await r1.nextData();
    await r2.nextData();
    b.dashboard.close();
    await Promise.all([r1.ended, r2.ended]);
    expect(r1.res.complete && r2.res.complete).toBe(true);
    expect(b.dashboard.eventStreams).toBe(0);
    const refused = await request(`${b.url}/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(refused.json()).toEqual({
      error: { code: 'SHUTTING_DOWN', message: 'the server is shutting down' },
    });
    // The page itself is still served while the admin server drains.
    expect((await request(`${b.url}/`)).status).toBe(200);
    // Nothing keeps the server open: close() returns without closeAllConnections.
    await new Promise<void>((resolve, reject) => b.server.close((err) => (err ? reject(err) : resolve())));
    benches.splice(benches.indexOf(b), 1);
  });

  it('serves at most maxClients streams and takes a new one when one leaves', async () => {
    const b = await bench({ upstreams: upstreams(), dashboard: { maxClients: 2 } });
    const r1 = await events(`${b.url}/events`);
    await events(`${b.url}/events`);
    const third = await request(`${b.url}/events`);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('5');
    expect(third.json()).toEqual({
      error: { code: 'TOO_MANY_EVENT_STREAMS', message: 'at most 2 event streams are served at once' },
    });
    r1.close();
    await waitFor(() => b.dashboard.eventStreams === 1, 'a stream to leave');
    const r3 = await events(`${b.url}/events`);
    expect(r3.res.statusCode).toBe(200);
    await r3.nextData();
  });

  it('sends a heartbeat comment while the status cannot be read, and the stream stays open', async () => {
    const errors: unknown[] = [];
    let failing = false;
    const list = upstreams();
    const b = await bench({
      upstreams: list,
      dashboard: {
        intervalMs: 200,
        heartbeatMs: 1000,
        status: () => (failing ? Promise.reject(new Error('status down')) : list),
        onError: (err) => errors.push(err),
      },
    });
    const r = await events(`${b.url}/events`);
    await r.nextData();
    failing = true;
    await waitFor(async () => (await r.next(3000)) === ': heartbeat', 'a heartbeat');
    expect(errors.length).toBeGreaterThan(0);
    failing = false;
    expect((await r.nextData<DashboardSnapshot>()).upstreams).toHaveLength(2);
  });

  it('outlives the server request timeout: a stream is a response, not a slow request', async () => {
    const b = await bench({
      upstreams: upstreams(),
      server: { requestTimeout: 1000, headersTimeout: 500, connectionsCheckingInterval: 100 },
      dashboard: { intervalMs: 500 },
    });
    const r = await events(`${b.url}/events`);
    await r.nextData();
    // The same server does cut a request that is slow to arrive (a body that never ends).
    const port = Number(new URL(b.url).port);
    const slow = rawExchange(
      port,
      'PATCH /upstreams/a:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{',
      8000,
    );
    await sleep(2500);
    expect((await slow).data).toMatch(/^HTTP\/1\.1 408 /);
    // Frames kept coming past the 1 s request timeout, and still come.
    expect(r.frames.length).toBeGreaterThanOrEqual(5);
    const frames = r.frames.length;
    await waitFor(() => r.frames.length > frames, 'another frame', 3000);
    expect(r.res.complete).toBe(false);
  });
});

describe('createDashboard options', () => {
  const history = new TrafficHistory();
  const status = () => [];
  it.each([
    ['no options', undefined, 'Expected `options` to be an object, got `undefined`'],
    ['no history', { status }, 'Expected `history` to be a TrafficHistory, got `undefined`'],
    ['no status', { history }, 'Expected `status` to be a function returning the upstreams, got `undefined`'],
    [
      'an interval too short',
      { history, status, intervalMs: 50 },
      'Expected `intervalMs` to be an integer from 100 to 2000, got `50` (number)',
    ],
    ['an interval over 2 s', { history, status, intervalMs: 5000 }, 'got `5000` (number)'],
    [
      'a fractional bound',
      { history, status, maxClients: 1.5 },
      'Expected `maxClients` to be an integer from 1 to 1000, got `1.5` (number)',
    ],
    [
      'a heartbeat as text',
      { history, status, heartbeatMs: '1000' },
      'Expected `heartbeatMs` to be an integer from 1000 to 60000, got `"1000"` (string)',
    ],
    [
      'a clock that is no function',
      { history, status, now: 5 },
      'Expected `now` to be a function, got `5` (number)',
    ],
    [
      'an empty title',
      { history, status, title: '' },
      'Expected `title` to be a non-empty string, got `""` (string)',
    ],
  ])('throws ERR_DASHBOARD_INVALID_OPTION for %s', (_what, options, message) => {
    const call = () => createDashboard(options as never);
    expect(call).toThrowError(
      expect.objectContaining({ code: 'ERR_DASHBOARD_INVALID_OPTION', name: 'DashboardError' }),
    );
    expect(call).toThrowError(message);
  });
});
