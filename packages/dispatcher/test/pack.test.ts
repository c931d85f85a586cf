import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { verifyPackedPackage } from '../../../scripts/pack-check.mjs';

// Run by both consumers: a dispatcher over a live server and a dead port, used through the consumer's
// own undici (the peer dependency npm installs beside the package).
const scenario = `
  const server = http.createServer((req, res) => { res.setHeader('x-path', req.url); res.end('ok'); });
  server.listen(0, '127.0.0.1', async () => {
    const live = 'http://127.0.0.1:' + server.address().port;
    const lb = new BalancedDispatcher({ upstreams: [live, 'http://127.0.0.1:1'], healthCheck: false });
    const downs = [];
    lb.on('down', (e) => downs.push(e.upstream.name + ' ' + e.reason));
    const first = await request('http://orders.internal/a?b=1', { dispatcher: lb });
    if (first.statusCode !== 200 || (await first.body.text()) !== 'ok' || first.headers['x-path'] !== '/a?b=1') throw new Error('first');
    let code;
    try { await request('http://orders.internal/', { dispatcher: lb }); } catch (err) { code = err.code; }
    if (code !== 'ECONNREFUSED') throw new Error('expected ECONNREFUSED, got ' + code);
    if (downs.join() !== '127.0.0.1:1 ECONNREFUSED') throw new Error('down events: ' + downs);
    const third = await fetch('http://orders.internal/c', { dispatcher: lb });
    if ((await third.text()) !== 'ok') throw new Error('third');
    const states = lb.status().map((s) => s.state).join();
    if (states !== 'up,down') throw new Error('states: ' + states);
    try { lb.setState('nope', 'drain'); throw new Error('no throw'); }
    catch (err) { if (err.code !== 'ERR_DISPATCHER_UNKNOWN_UPSTREAM' || err.name !== 'DispatcherError') throw err; }
    lb.setState('127.0.0.1:1', 'maint');
    lb.setState(lb.status()[0].name, 'maint');
    try { await request('http://orders.internal/', { dispatcher: lb }); throw new Error('no throw'); }
    catch (err) { if (err.code !== 'ERR_NO_HEALTHY_UPSTREAM') throw err; }
    await lb.close();
    server.close();
  });
`;

it('installs from its packed tarball and works with import, require and TypeScript (node16 + bundler)', async () => {
  await verifyPackedPackage({
    packageDir: fileURLToPath(new URL('..', import.meta.url)),
    esm: `
      import http from 'node:http';
      import { request, fetch } from 'undici';
      import { BalancedDispatcher } from '@roundguard/dispatcher';
      ${scenario}
    `,
    cjs: `
      const http = require('node:http');
      const { request, fetch } = require('undici');
      const { BalancedDispatcher } = require('@roundguard/dispatcher');
      ${scenario}
    `,
    ts: `
      import { request, type Dispatcher } from 'undici';
      import {
        BalancedDispatcher, DispatcherError, NoHealthyUpstreamError,
        type BalancedDispatchHandler, type BalancedDispatcherOptions, type DispatcherErrorCode,
        type Upstream, type UpstreamStatus, type UpstreamState, type EjectedEvent, type DnsLookupEvent,
      } from '@roundguard/dispatcher';
      interface Meta { readonly label: string }
      const options: BalancedDispatcherOptions = {
        upstreams: ['http://127.0.0.1:3001', { url: 'http://127.0.0.1:3002', weight: 2, name: 'b' }, 'dns+http://api.test:80'],
        healthCheck: { path: '/health', intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1 },
        outlierDetection: { consecutiveFailures: 5, baseEjectionMs: 30000, maxEjectionMs: 300000, maxEjectionPercent: 50 },
        retry: { attempts: 1 },
        pool: { connections: 128 },
        dnsRefreshMs: 5000,
        dnsServers: ['127.0.0.1:5353'],
      };
      const lb = new BalancedDispatcher<Meta>(options);
      const asDispatcher: Dispatcher = lb;
      lb.on('ejected', (e: EjectedEvent<Meta>) => { const label: string | undefined = e.upstream.data?.label; void label; });
      lb.on('dnsLookup', (e: DnsLookupEvent) => { const r: 'ok' | 'empty' | 'error' = e.result; void r; });
      lb.on('connect', (origin: URL) => { void origin; });
      lb.on('upstreamAdded', (u: Upstream<Meta>) => { u.data = { label: u.name }; });
      const status: UpstreamStatus[] = lb.status();
      const state: UpstreamState | undefined = status[0]?.state;
      const until: number | null | undefined = status[0]?.ejectedUntil;
      const after: UpstreamStatus = lb.setState('b', 'drain');
      lb.setWeight('b', 3);
      lb.setUpstreams(['http://127.0.0.1:3001']);
      const handler: BalancedDispatchHandler<Meta> = {
        onUpstream(upstream) { const name: string = upstream.name; void name; },
        onRequestStart() {},
        onResponseError() {},
      };
      lb.dispatch({ path: '/', method: 'GET' }, handler);
      const response = request('http://x.internal/', { dispatcher: lb });
      const code: DispatcherErrorCode = 'ERR_DISPATCHER_INVALID_OPTION';
      const isErr = (e: unknown): e is DispatcherError | NoHealthyUpstreamError =>
        e instanceof DispatcherError || e instanceof NoHealthyUpstreamError;
      const closed: Promise<void> = lb.close();
      export { asDispatcher, state, until, after, response, code, isErr, closed };
    `,
  });
}, 240_000);
