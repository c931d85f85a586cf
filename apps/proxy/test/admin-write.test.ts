// The admin write API end to end on a real proxy process: every refusal with its exact status and code,
// then what each change does to real traffic: drain (in-flight requests finish, no new ones), maint (no
// probes), weight (the next cycle's split), DELETE (waits for in-flight), POST (traffic after the first
// good probe), a SIGHUP reload undoing the changes; the log records and the metric of each change, and
// the token in no log line.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  closeAllBackends,
  codeOf,
  holdingBackend,
  spread,
  TOKEN,
  type HoldingBackend,
} from './helpers/admin-api.js';
import { closedPort } from './helpers/backends.js';
import { getMetrics, getUpstreams, request, sleep, sumOf, waitFor } from './helpers/http.js';
import { runProxy, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

let a: HoldingBackend;
let b: HoldingBackend;
let c: HoldingBackend | undefined;
let proxy: ProxyProcess;
/** Upstream names: `host:port`, but `c-blue` for C (added with a name). */
const nameOf = (x: HoldingBackend) => (x === c ? 'c-blue' : `127.0.0.1:${x.port}`);
const probes = (x: HoldingBackend) => x.seen.filter((r) => r.url === '/health').length;
const upstream = async (name: string) => (await getUpstreams(proxy.adminUrl)).find((u) => u.name === name);

beforeAll(async () => {
  [a, b] = await Promise.all([holdingBackend('A'), holdingBackend('B')]);
  proxy = await startProxy(
    ['--upstream', a.url, '--upstream', b.url, '--health-interval', '100', '--health-timeout', '1000'],
    { env: { ROUNDGUARD_ADMIN_TOKEN: TOKEN } },
  );
  await waitFor(
    async () => (await getUpstreams(proxy.adminUrl)).every((u) => u.state === 'up'),
    'both upstreams up',
  );
});

afterAll(async () => {
  a?.release();
  b?.release();
  await stopAllProcesses();
  await closeAllBackends();
});

describe('refusals', () => {
  it('answers 403 ADMIN_READ_ONLY to every write when no token is configured', async () => {
    const readOnly = await startProxy(['--upstream', a.url, '--health-interval', '100000']);
    for (const [method, path, body] of [
      ['POST', '/upstreams', { url: 'http://127.0.0.1:1' }],
      ['PATCH', `/upstreams/${nameOf(a)}`, { state: 'drain' }],
      ['DELETE', `/upstreams/${nameOf(a)}`, undefined],
    ] as const) {
      const res = await api(readOnly.adminUrl, method, path, body);
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ error: { code: 'ADMIN_READ_ONLY', message: expect.any(String) } });
    }
    await readOnly.stop();
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
    ['the token with one character more', { authorization: `Bearer ${TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token as Basic', { authorization: `Basic ${TOKEN}` }],
    ['an empty Bearer', { authorization: 'Bearer ' }],
  ])('answers 401 UNAUTHORIZED with WWW-Authenticate: Bearer to %s', async (_what, headers) => {
    const res = await request(`${proxy.adminUrl}/upstreams/${nameOf(a)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{"state":"drain"}',
    });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    expect(codeOf(res)).toBe('UNAUTHORIZED');
    expect((await upstream(nameOf(a)))?.adminState).toBe('ready');
  });

  it.each([
    ['no Content-Type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/jsonx', { 'content-type': 'application/jsonx' }],
  ])('answers 415 UNSUPPORTED_MEDIA_TYPE to a body with %s', async (_what, headers) => {
    const res = await request(`${proxy.adminUrl}/upstreams/${nameOf(a)}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      body: '{"state":"drain"}',
    });
    expect(res.status).toBe(415);
    expect(codeOf(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts application/json with a charset', async () => {
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, '{"weight":1}', {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['not JSON', '{state: drain}'],
    ['empty', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"drain"'],
    ['null', 'null'],
  ])('answers 400 BAD_REQUEST to a body that is %s', async (_what, body) => {
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, body, {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('BAD_REQUEST');
  });

  it('answers 413 PAYLOAD_TOO_LARGE to a body over 16 KiB, by Content-Length and by counting', async () => {
    const big = JSON.stringify({ url: 'http://127.0.0.1:1', pad: 'x'.repeat(20_000) });
    const declared = await api(proxy.adminUrl, 'POST', '/upstreams', big);
    expect(declared.status).toBe(413);
    expect(codeOf(declared)).toBe('PAYLOAD_TOO_LARGE');
    const chunked = await api(proxy.adminUrl, 'POST', '/upstreams', big, { 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    expect(codeOf(chunked)).toBe('PAYLOAD_TOO_LARGE');
    expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  });

  it.each([
    ['no url', { weight: 1 }],
    ['a url that is not a string', { url: 42 }],
    ['an ftp url', { url: 'ftp://127.0.0.1:21' }],
    ['a url with a path', { url: 'http://127.0.0.1:3001/api' }],
    ['a url with credentials', { url: 'http://u:p@127.0.0.1:3001' }],
    ['a discovery url', { url: 'dns+http://echo.internal:8080' }],
    ['a negative weight', { url: 'http://127.0.0.1:3001', weight: -1 }],
    ['a fractional weight', { url: 'http://127.0.0.1:3001', weight: 1.5 }],
    ['a weight as a string', { url: 'http://127.0.0.1:3001', weight: '2' }],
    ['a weight over 1000000', { url: 'http://127.0.0.1:3001', weight: 1_000_001 }],
    ['an empty name', { url: 'http://127.0.0.1:3001', name: '' }],
    ['a name with a space', { url: 'http://127.0.0.1:3001', name: 'a b' }],
    ['a name with a slash', { url: 'http://127.0.0.1:3001', name: 'a/b' }],
    ['a name of 129 characters', { url: 'http://127.0.0.1:3001', name: 'n'.repeat(129) }],
    ['an unknown field', { url: 'http://127.0.0.1:3001', state: 'drain' }],
  ])('answers POST /upstreams with %s 400 INVALID_UPSTREAM', async (_what, body) => {
    const res = await api(proxy.adminUrl, 'POST', '/upstreams', body);
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('INVALID_UPSTREAM');
    expect(await getUpstreams(proxy.adminUrl)).toHaveLength(2);
  });

  it('answers POST /upstreams with a taken name or URL 409 UPSTREAM_EXISTS', async () => {
    const sameUrl = await api(proxy.adminUrl, 'POST', '/upstreams', { url: a.url, name: 'other' });
    expect(sameUrl.status).toBe(409);
    expect(codeOf(sameUrl)).toBe('UPSTREAM_EXISTS');
    const sameName = await api(proxy.adminUrl, 'POST', '/upstreams', {
      url: `http://127.0.0.1:${await closedPort()}`,
      name: nameOf(b),
    });
    expect(sameName.status).toBe(409);
    expect(codeOf(sameName)).toBe('UPSTREAM_EXISTS');
    // The same URL written differently is the same upstream.
    const written = await api(proxy.adminUrl, 'POST', '/upstreams', { url: `${a.url}/` });
    expect(written.status).toBe(409);
  });

  it.each([
    ['an unknown state', { state: 'down' }],
    ['a state in capitals', { state: 'DRAIN' }],
    ['a negative weight', { weight: -1 }],
    ['a weight as a string', { weight: '3' }],
    ['an unknown field', { state: 'drain', url: 'http://127.0.0.1:1' }],
    ['nothing to change', {}],
  ])('answers PATCH with %s 400 INVALID_CHANGE, changing nothing', async (_what, body) => {
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, body);
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('INVALID_CHANGE');
    expect(await upstream(nameOf(a))).toMatchObject({ adminState: 'ready', weight: 1 });
  });

  it('answers PATCH and DELETE of an unknown name 404 UNKNOWN_UPSTREAM', async () => {
    for (const [method, body] of [
      ['PATCH', { state: 'drain' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await api(proxy.adminUrl, method, '/upstreams/127.0.0.1:1', body);
      expect(res.status).toBe(404);
      expect(codeOf(res)).toBe('UNKNOWN_UPSTREAM');
    }
  });

  it('answers other methods 405 with Allow', async () => {
    const put = await api(proxy.adminUrl, 'PUT', `/upstreams/${nameOf(a)}`, { state: 'drain' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('PATCH, DELETE');
    expect(codeOf(put)).toBe('METHOD_NOT_ALLOWED');
    const patch = await api(proxy.adminUrl, 'PATCH', '/upstreams', { state: 'drain' });
    expect(patch.status).toBe(405);
    expect(patch.headers.allow).toBe('GET, HEAD, POST');
    const get = await api(proxy.adminUrl, 'GET', `/upstreams/${nameOf(a)}`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('PATCH, DELETE');
  });
});

describe('changes and traffic', () => {
  it('drain: requests in flight finish, no new request is sent, ready brings it back', async () => {
    // Round robin: one held request on each upstream.
    const held = [0, 1].map(() =>
      request(`${proxy.url}/hold`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    await waitFor(() => a.held === 1 && b.held === 1, 'one held request on each backend');
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { state: 'drain' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      name: nameOf(a),
      state: 'draining',
      adminState: 'drain',
      inFlight: 1,
    });
    const before = a.count;
    expect(await spread(proxy.url, 10)).toEqual({ B: 10 });
    expect(a.count).toBe(before);
    a.release();
    b.release();
    for (const r of await Promise.all(held)) expect(r.status).toBe(200);
    // Probes go on while draining.
    const probed = probes(a);
    await waitFor(() => probes(a) > probed, 'a probe of the drained upstream');
    const back = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { state: 'ready' });
    expect(back.json()).toMatchObject({ state: 'up', adminState: 'ready' });
    expect(await spread(proxy.url, 4)).toEqual({ A: 2, B: 2 });
  });

  it('maint: no probes, no traffic; ready: back after its first good probe', async () => {
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(b)}`, { state: 'maint' });
    expect(res.json()).toMatchObject({ state: 'maint', adminState: 'maint' });
    await sleep(150); // a probe started before the change may still arrive
    const probed = probes(b);
    await sleep(1000); // 10 probe intervals
    expect(probes(b)).toBe(probed);
    expect(await spread(proxy.url, 6)).toEqual({ A: 6 });
    const ready = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(b)}`, { state: 'ready' });
    expect(ready.status).toBe(200);
    await waitFor(async () => (await upstream(nameOf(b)))?.state === 'up', 'B up again');
    expect(probes(b)).toBeGreaterThan(probed);
    expect(await spread(proxy.url, 4)).toEqual({ A: 2, B: 2 });
  });

  it('weight: the next cycles split by the new weights', async () => {
    const res = await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { weight: 3 });
    expect(res.json()).toMatchObject({ weight: 3, state: 'up' });
    expect(await spread(proxy.url, 8)).toEqual({ A: 6, B: 2 });
    await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { weight: 0 });
    expect(await spread(proxy.url, 4)).toEqual({ B: 4 });
    await api(proxy.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { weight: 1 });
    expect(await spread(proxy.url, 4)).toEqual({ A: 2, B: 2 });
  });

  it('POST: the new upstream answers 201, then takes traffic after its first good probe', async () => {
    c = await holdingBackend('C');
    const res = await api(proxy.adminUrl, 'POST', '/upstreams', { url: c.url, weight: 2, name: 'c-blue' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/upstreams/c-blue');
    expect(res.json()).toMatchObject({ name: 'c-blue', url: c.url, weight: 2, adminState: 'ready' });
    await waitFor(async () => (await upstream('c-blue'))?.state === 'up', 'c-blue up');
    expect(await spread(proxy.url, 8)).toEqual({ A: 2, B: 2, C: 4 });
    const firstRequest = c.seen.findIndex((r) => r.url !== '/health');
    const firstProbe = c.seen.findIndex((r) => r.url === '/health');
    expect(firstProbe).toBeGreaterThanOrEqual(0);
    expect(firstProbe).toBeLessThan(firstRequest);
  });

  it('DELETE: 202, no new requests, removed once its request in flight is done', async () => {
    const held = request(`${proxy.url}/hold`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    let target: HoldingBackend | undefined;
    await waitFor(() => (target = [a, b, c!].find((x) => x.held === 1)), 'a held request');
    const holder = target as HoldingBackend;
    const res = await api(proxy.adminUrl, 'DELETE', `/upstreams/${nameOf(holder)}`);
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ name: nameOf(holder), state: 'draining', inFlight: 1 });
    // Still listed (draining) while its request runs; new requests go elsewhere.
    expect(await upstream(nameOf(holder))).toMatchObject({ state: 'draining', inFlight: 1 });
    const counts = await spread(proxy.url, 6);
    expect(counts[holder.name]).toBeUndefined();
    await sleep(300);
    expect(await upstream(nameOf(holder))).toBeDefined();
    // Its URL stays its own while it finishes (the metrics are by URL).
    const taken = await api(proxy.adminUrl, 'POST', '/upstreams', { url: holder.url, name: 'other-name' });
    expect(taken.status).toBe(409);
    expect(codeOf(taken)).toBe('UPSTREAM_EXISTS');
    holder.release();
    expect((await held).status).toBe(200);
    await waitFor(async () => (await upstream(nameOf(holder))) === undefined, 'the removed upstream gone');
    // Deleting it again: it is unknown now.
    const again = await api(proxy.adminUrl, 'DELETE', `/upstreams/${nameOf(holder)}`);
    expect(again.status).toBe(404);
  });

  it('logs every change as "upstream changed" by the admin api and counts it', async () => {
    const changes = proxy.records.filter((r) => r.msg === 'upstream changed');
    expect(changes.length).toBeGreaterThanOrEqual(9);
    for (const r of changes) {
      expect(r).toMatchObject({ level: 'info', by: 'admin api' });
      expect(typeof r.upstream).toBe('string');
      expect(typeof r.upstream_name).toBe('string');
    }
    expect(changes.find((r) => r.action === 'weight' && r.to === 3)).toMatchObject({ from: 1 });
    expect(changes.find((r) => r.action === 'drain')).toMatchObject({ from: 'ready', to: 'drain' });
    expect(changes.find((r) => r.action === 'add')).toMatchObject({ upstream_name: 'c-blue', weight: 2 });
    expect(changes.filter((r) => r.action === 'remove')).toHaveLength(1);
    const { samples } = await getMetrics(proxy.adminUrl);
    const count = (action: string) => sumOf(samples, 'roundguard_admin_changes_total', { action });
    for (const action of ['add', 'remove', 'ready', 'drain', 'maint', 'weight'])
      expect(count(action)).toBe(changes.filter((r) => r.action === action).length);
  });

  it('never writes the token to stdout or stderr', () => {
    expect(proxy.stdout()).not.toContain(TOKEN);
    expect(proxy.stderr()).not.toContain(TOKEN);
    expect(proxy.stdout()).not.toContain(TOKEN.slice(0, 12));
  });
});

describe('the token option', () => {
  it('is not shown by --help, nor in the message about a bad one', async () => {
    const help = await runProxy(['--help'], { ROUNDGUARD_ADMIN_TOKEN: TOKEN });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--admin-token TOKEN');
    expect(help.stdout).not.toContain(TOKEN);
    const short = await runProxy(['--upstream', 'http://127.0.0.1:1', '--admin-token', 'short-secret']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--admin-token');
    expect(short.stderr).not.toContain('short-secret');
  });
});

describe('SIGHUP reload', () => {
  it('undoes the runtime changes: the config file set, every upstream ready', async () => {
    const file = join(tmpdir(), `roundguard-admin-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ upstreams: [a.url, b.url] }));
    const p = await startProxy(['--config', file, '--health-interval', '100'], {
      env: { ROUNDGUARD_ADMIN_TOKEN: TOKEN },
    });
    await waitFor(async () => (await getUpstreams(p.adminUrl)).every((u) => u.state === 'up'), 'up');
    const c = await holdingBackend('C');
    expect((await api(p.adminUrl, 'POST', '/upstreams', { url: c.url })).status).toBe(201);
    expect((await api(p.adminUrl, 'PATCH', `/upstreams/${nameOf(a)}`, { state: 'drain' })).status).toBe(200);
    expect((await api(p.adminUrl, 'PATCH', `/upstreams/${nameOf(b)}`, { weight: 5 })).status).toBe(200);
    p.child.kill('SIGHUP');
    await p.waitForRecord((r) => r.msg === 'config reloaded');
    await waitFor(async () => {
      const list = await getUpstreams(p.adminUrl);
      return (
        list.length === 2 && list.every((u) => u.adminState === 'ready' && u.weight === 1 && u.state === 'up')
      );
    }, 'the config file set back');
    await p.stop();
  });
});
