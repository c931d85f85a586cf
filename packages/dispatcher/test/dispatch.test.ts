import { once } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import {
  fetch,
  getGlobalDispatcher,
  request,
  setGlobalDispatcher,
  stream,
  pipeline,
  upgrade,
  type Dispatcher,
} from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BalancedDispatcher, type BalancedDispatcherOptions, type Upstream } from '../src/index.js';
import {
  closeAll,
  errorServer,
  okServer,
  refusedUrl,
  slowServer,
  startServer,
  type TestServer,
} from './helpers/servers.js';

const dispatchers: { destroy(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await closeAll();
});

function balanced<D = unknown>(options: BalancedDispatcherOptions): BalancedDispatcher<D> {
  const lb = new BalancedDispatcher<D>(options);
  dispatchers.push(lb);
  return lb;
}

const noChecks = { healthCheck: false, outlierDetection: false } as const;

async function get(lb: Dispatcher, path = '/'): Promise<{ status: number; body: string; upstream: string }> {
  const res = await request(`http://app.internal${path}`, { dispatcher: lb });
  return { status: res.statusCode, body: await res.body.text(), upstream: String(res.headers['x-upstream']) };
}

/** An upstream that answers with what it received. */
function echoServer(name: string): Promise<TestServer> {
  return startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-upstream', name);
      res.end(
        JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
}

describe('balancing', () => {
  it('sends requests in exact round-robin order to the healthy upstreams', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map((n) => okServer(n)));
    const lb = balanced({ upstreams: servers.map((s) => s.url), ...noChecks });
    const order: string[] = [];
    for (let i = 0; i < 30; i++) order.push((await get(lb)).upstream);
    expect(order.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(servers.map((s) => s.hits.traffic)).toEqual([10, 10, 10]);
  });

  it('spreads by weight in nginx smooth order', async () => {
    const [a, b] = await Promise.all([okServer('a'), okServer('b')]);
    const lb = balanced({ upstreams: [a.url, { url: b.url, weight: 3 }], ...noChecks });
    const order: string[] = [];
    for (let i = 0; i < 40; i++) order.push((await get(lb)).upstream);
    expect(order.slice(0, 4).sort()).toEqual(['a', 'b', 'b', 'b']);
    expect([a.hits.traffic, b.hits.traffic]).toEqual([10, 30]);
  });

  it('replaces the origin and sends path, query, method, headers and body unchanged', async () => {
    const echo = await echoServer('e');
    const lb = balanced({ upstreams: [echo.url], ...noChecks });
    const res = await request('http://orders.internal/items?id=1&x=%20y', {
      dispatcher: lb,
      method: 'PATCH',
      headers: { 'x-custom': 'v1', 'content-type': 'text/plain' },
      body: 'hello body',
    });
    const seen = (await res.body.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(res.statusCode).toBe(200);
    expect(seen.method).toBe('PATCH');
    expect(seen.url).toBe('/items?id=1&x=%20y');
    expect(seen.body).toBe('hello body');
    expect(seen.headers['x-custom']).toBe('v1');
    expect(seen.headers.host).toBe(echo.name);
    const withHost = await request('http://orders.internal/', {
      dispatcher: lb,
      headers: { host: 'orders.internal' },
    });
    expect(((await withHost.body.json()) as { headers: Record<string, string> }).headers.host).toBe(
      'orders.internal',
    );
  });
});

describe('undici APIs through the dispatcher', () => {
  it('works with request, stream, pipeline and fetch', async () => {
    const [a, b] = await Promise.all([echoServer('a'), echoServer('b')]);
    const lb = balanced({ upstreams: [a.url, b.url], ...noChecks });

    const r = await request('http://x.internal/r', { dispatcher: lb });
    expect((await r.body.json()) as { name: string; url: string }).toMatchObject({ name: 'a', url: '/r' });

    const chunks: Buffer[] = [];
    const streamed = await stream<Buffer[]>(
      'http://x.internal/s',
      { dispatcher: lb, method: 'GET', opaque: chunks },
      ({ opaque }) =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            opaque.push(chunk);
            cb();
          },
        }),
    );
    expect(streamed.opaque).toBe(chunks);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ name: 'b', url: '/s' });

    const out: Buffer[] = [];
    await pipelineAsync(
      Readable.from([Buffer.from('piped '), Buffer.from('body')]),
      pipeline('http://x.internal/p', { dispatcher: lb, method: 'POST' }, ({ body }) => body),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(JSON.parse(Buffer.concat(out).toString())).toMatchObject({
      name: 'a',
      method: 'POST',
      url: '/p',
      body: 'piped body',
    });

    const f = await fetch('http://x.internal/f?q=1', { dispatcher: lb, method: 'POST', body: 'fetched' });
    expect(f.status).toBe(200);
    expect(await f.json()).toMatchObject({ name: 'b', method: 'POST', url: '/f?q=1', body: 'fetched' });
  });

  it('works as the global dispatcher', async () => {
    const a = await okServer('a');
    const lb = balanced({ upstreams: [a.url], ...noChecks });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(lb);
    try {
      expect((await request('http://anything.internal/')).statusCode).toBe(200);
      expect(await (await fetch('http://anything.internal/')).text()).toBe('a');
    } finally {
      setGlobalDispatcher(previous);
    }
    expect(a.hits.traffic).toBe(2);
  });

  it('tunnels an upgrade', async () => {
    const a = await okServer('a');
    a.server.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
      socket.pipe(socket);
    });
    const lb = balanced({ upstreams: [a.url], ...noChecks });
    const { socket, headers } = await upgrade('http://x.internal/ws', { dispatcher: lb, protocol: 'echo' });
    expect(headers.upgrade).toBe('echo');
    socket.write('ping');
    const [data] = (await once(socket, 'data')) as [Buffer];
    expect(data.toString()).toBe('ping');
    socket.destroy();
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 1, failures: 0 });
  });

  it('hands an upgrade answered without 101 to a legacy handler as a response, and a 5xx one as a failure', async () => {
    const a = await startServer((req, res) => {
      req.resume();
      res.statusCode = req.url === '/denied' ? 403 : 503;
      res.end('no');
    });
    const lb = balanced({ upstreams: [a.url], ...noChecks });
    const answer = (path: string) =>
      new Promise<{ status: number; body: string; upgraded: boolean }>((resolve, reject) => {
        let status = 0;
        let body = '';
        lb.dispatch(
          { origin: 'http://x.internal', path, method: 'GET', upgrade: 'websocket' },
          {
            onConnect() {},
            onHeaders(statusCode: number) {
              status = statusCode;
              return true;
            },
            onData(chunk: Buffer) {
              body += chunk.toString();
              return true;
            },
            onComplete() {
              resolve({ status, body, upgraded: false });
            },
            onUpgrade() {
              resolve({ status: 101, body, upgraded: true });
            },
            onError: reject,
          },
        );
      });
    expect(await answer('/denied')).toEqual({ status: 403, body: 'no', upgraded: false });
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 1, failures: 0 });
    expect(await answer('/busy')).toEqual({ status: 503, body: 'no', upgraded: false });
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 2, failures: 1 });
  });
});

describe('handlers', () => {
  it('forwards the legacy handler interface and calls onUpstream first, with one object per upstream', async () => {
    const [a, b] = await Promise.all([okServer('a'), okServer('b')]);
    const lb = balanced<{ count: number }>({ upstreams: [a.url, b.url], ...noChecks });
    const calls: string[] = [];
    const seen: Upstream<{ count: number }>[] = [];
    const run = () =>
      new Promise<void>((resolve, reject) => {
        lb.dispatch(
          { origin: 'http://x.internal', path: '/', method: 'GET' },
          {
            onUpstream(upstream: Upstream<{ count: number }>) {
              calls.push(`upstream ${upstream.name}`);
              upstream.data ??= { count: 0 };
              upstream.data.count++;
              seen.push(upstream);
            },
            onConnect() {
              calls.push('connect');
            },
            onHeaders(status: number) {
              calls.push(`headers ${status}`);
              return true;
            },
            onData(chunk: Buffer) {
              calls.push(`data ${chunk.toString()}`);
              return true;
            },
            onComplete() {
              calls.push('complete');
              resolve();
            },
            onError: reject,
          },
        );
      });
    await run();
    await run();
    await run();
    expect(calls.slice(0, 5)).toEqual([`upstream ${a.name}`, 'connect', 'headers 200', 'data a', 'complete']);
    expect(seen[0]).toBe(seen[2]);
    expect(seen[0]).not.toBe(seen[1]);
    expect(seen[0]).toBe(lb.upstreams()[0]);
    expect(lb.upstreams().map((u) => u.data?.count)).toEqual([2, 1]);
    expect(seen[1]).toMatchObject({ name: b.name, url: b.url, weight: 1, discoveredFrom: null });
  });

  it('forwards the controller handler interface, with pause and resume', async () => {
    const big = 'x'.repeat(256 * 1024);
    const s = await startServer((_req, res) => res.end(big));
    const lb = balanced({ upstreams: [s.url], ...noChecks });
    const calls: string[] = [];
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      lb.dispatch(
        { origin: 'http://x.internal', path: '/', method: 'GET' },
        {
          onRequestStart(controller: Dispatcher.DispatchController) {
            calls.push(`start ${typeof controller.abort}`);
          },
          onResponseStart(
            controller: Dispatcher.DispatchController,
            status: number,
            headers: Record<string, string>,
          ) {
            calls.push(`response ${status} ${headers['content-length']}`);
            controller.pause();
            setTimeout(() => controller.resume(), 50);
          },
          onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer) {
            received += chunk.length;
          },
          onResponseEnd() {
            calls.push('end');
            resolve();
          },
          onResponseError(_c: unknown, err: Error) {
            reject(err);
          },
        },
      );
    });
    expect(calls).toEqual(['start function', `response 200 ${big.length}`, 'end']);
    expect(received).toBe(big.length);
  });

  it('reports a connect failure to a controller handler through onResponseError', async () => {
    const lb = balanced({ upstreams: [await refusedUrl()], ...noChecks });
    const err = await new Promise<Error>((resolve) => {
      lb.dispatch(
        { origin: 'http://x.internal', path: '/', method: 'GET' },
        { onRequestStart() {}, onResponseError: (_c: unknown, e: Error) => resolve(e) },
      );
    });
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('rejects a handler that lacks a method, with undici’s error', () => {
    const lb = balanced({ upstreams: ['http://127.0.0.1:9'], ...noChecks });
    const errors: Error[] = [];
    lb.dispatch({ path: '/', method: 'GET' }, { onConnect() {}, onError: (e: Error) => errors.push(e) });
    expect(errors.map((e) => [(e as { code?: string }).code, e.message])).toEqual([
      ['UND_ERR_INVALID_ARG', 'invalid onHeaders method'],
    ]);
    expect(() => lb.dispatch({ path: '/', method: 'GET' }, null as never)).toThrow(
      'handler must be an object',
    );
    expect(lb.status()[0]).toMatchObject({ requests: 0, inFlight: 0 });
  });
});

describe('status()', () => {
  it('reports every field of a fresh upstream', async () => {
    const a = await okServer('a');
    const lb = balanced({ upstreams: [{ url: a.url, weight: 2 }], healthCheck: false });
    expect(lb.status()).toEqual([
      {
        name: a.name,
        url: a.url,
        weight: 2,
        state: 'up',
        adminState: 'ready',
        healthy: true,
        inFlight: 0,
        requests: 0,
        failures: 0,
        consecutiveFailures: 0,
        ejections: 0,
        ejectedUntil: null,
        lastProbeAt: null,
        lastProbeResult: null,
        lastError: null,
        discoveredFrom: null,
      },
    ]);
    expect(JSON.parse(JSON.stringify(lb.status()))).toEqual(lb.status());
  });
});

describe('the onUpstream hook', () => {
  it('fails the request with its error when it throws, and nothing is sent', async () => {
    const a = await okServer('a');
    const lb = balanced({ upstreams: [a.url], ...noChecks });
    const boom = new Error('hook failed');
    const errors: Error[] = [];
    lb.dispatch(
      { path: '/', method: 'GET' },
      {
        onUpstream() {
          throw boom;
        },
        onConnect() {},
        onHeaders: () => true,
        onData: () => true,
        onComplete() {},
        onError: (e: Error) => errors.push(e),
      },
    );
    expect(errors).toEqual([boom]);
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 0 });
    expect(a.hits.total).toBe(0);
  });
});

describe('no healthy upstream', () => {
  it('fails at once, during dispatch, with ERR_NO_HEALTHY_UPSTREAM', async () => {
    const a = await okServer('a');
    const lb = balanced({ upstreams: [a.url, { url: 'http://127.0.0.1:9', weight: 0 }], ...noChecks });
    lb.setState(a.name, 'maint');
    const errors: { code?: string; message: string; name: string }[] = [];
    const returned = lb.dispatch(
      { path: '/', method: 'GET' },
      {
        onConnect() {},
        onHeaders: () => true,
        onData: () => true,
        onComplete() {},
        onError: (e: Error) => errors.push(e),
      },
    );
    expect(returned).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'ERR_NO_HEALTHY_UPSTREAM',
      name: 'NoHealthyUpstreamError',
      message: 'No healthy upstream (2 upstreams: 1 maint, 1 weight 0)',
    });
    await expect(request('http://x.internal/', { dispatcher: lb })).rejects.toMatchObject({
      code: 'ERR_NO_HEALTHY_UPSTREAM',
    });
    const empty = balanced({ upstreams: [], ...noChecks });
    await expect(fetch('http://x.internal/', { dispatcher: empty })).rejects.toMatchObject({
      cause: { code: 'ERR_NO_HEALTHY_UPSTREAM', message: 'No healthy upstream (no upstream configured)' },
    });
    expect(a.hits.total).toBe(0);
  });
});

describe('three bad upstreams: one refusing, one answering 500s, one slow', () => {
  it('takes the refusing one out at once, ejects the failing one, and serves from the slow one', async () => {
    const refused = await refusedUrl();
    const failing = await errorServer();
    const slow = await slowServer('slow', 150);
    const lb = balanced({
      upstreams: [refused, failing.url, slow.url],
      healthCheck: false,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
    });
    const events: string[] = [];
    lb.on('down', (e) =>
      events.push(`down ${e.upstream.name === failing.name ? 'failing' : 'refused'} ${e.cause} ${e.reason}`),
    );
    lb.on('ejected', (e) =>
      events.push(
        `ejected ${e.upstream.name === failing.name ? 'failing' : '?'} ${e.durationMs} ${e.reason}`,
      ),
    );
    lb.on('stateChange', (e) => events.push(`state ${e.from}->${e.to}`));

    const results: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const r = await get(lb);
        results.push(`${r.status} ${r.body}`);
      } catch (err) {
        results.push((err as { code: string }).code);
      }
    }
    expect(results).toEqual([
      'ECONNREFUSED',
      '500 boom',
      '200 slow',
      '500 boom',
      '200 slow',
      '500 boom',
      '200 slow',
      '200 slow',
      '200 slow',
      '200 slow',
    ]);
    expect(events).toEqual([
      'down refused connect_failure ECONNREFUSED',
      'state up->down',
      'ejected failing 60000 3 failures in a row, the last: HTTP 500',
      'state up->ejected',
    ]);
    const [r, f, s] = lb.status();
    expect(r).toMatchObject({
      state: 'down',
      healthy: false,
      requests: 1,
      failures: 1,
      lastError: 'ECONNREFUSED',
    });
    expect(f).toMatchObject({ state: 'ejected', healthy: true, requests: 3, failures: 3, ejections: 1 });
    expect(f?.ejectedUntil).toBeGreaterThan(Date.now() + 50_000);
    expect(s).toMatchObject({ state: 'up', requests: 6, failures: 0, inFlight: 0 });
  });

  it('lets the slow one take requests in parallel and counts them in flight', async () => {
    const slow = await slowServer('slow', 300);
    const lb = balanced({ upstreams: [slow.url], ...noChecks });
    const pending = Array.from({ length: 5 }, () => get(lb));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lb.status()[0]?.inFlight).toBe(5);
    expect((await Promise.all(pending)).map((r) => r.body)).toEqual(['slow', 'slow', 'slow', 'slow', 'slow']);
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 5 });
  });
});

describe('outcome accounting', () => {
  it('a success resets the failure count; caller aborts and client-side body errors are not failures', async () => {
    let status = 500;
    const s = await startServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = status;
        res.end();
      });
    });
    const lb = balanced({
      upstreams: [s.url],
      healthCheck: false,
      outlierDetection: { consecutiveFailures: 3 },
    });
    await (await request('http://x.internal/', { dispatcher: lb })).body.dump();
    await (await request('http://x.internal/', { dispatcher: lb })).body.dump();
    expect(lb.status()[0]).toMatchObject({ failures: 2, consecutiveFailures: 2 });
    status = 204;
    await (await request('http://x.internal/', { dispatcher: lb })).body.dump();
    expect(lb.status()[0]).toMatchObject({ failures: 2, consecutiveFailures: 0 });

    const controller = new AbortController();
    const slow = await slowServer('slow', 1000);
    lb.setUpstreams([slow.url]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const aborted = request('http://x.internal/', { dispatcher: lb, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });

    const body = new PassThrough();
    const broken = request('http://x.internal/', { dispatcher: lb, method: 'POST', body });
    body.write('part');
    setTimeout(() => body.destroy(Object.assign(new Error('client went away'), { code: 'ECONNRESET' })), 50);
    await expect(broken).rejects.toMatchObject({ code: 'ECONNRESET' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lb.status().find((u) => u.name === slow.name)).toMatchObject({
      requests: 2,
      failures: 0,
      inFlight: 0,
      state: 'up',
    });
  });

  it('counts a reset after the answer began as a failure', async () => {
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const lb = balanced({ upstreams: [s.url], ...noChecks });
    const res = await request('http://x.internal/', { dispatcher: lb });
    await expect(res.body.text()).rejects.toThrow();
    expect(lb.status()[0]).toMatchObject({ failures: 1, consecutiveFailures: 1, inFlight: 0 });
  });
});
