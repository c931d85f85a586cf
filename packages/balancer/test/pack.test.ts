import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { verifyPackedPackage } from '../../../scripts/pack-check.mjs';

// Run by both consumers: a balancer over a live server and a dead port, checked by a HealthChecker with
// httpProbe. Its timers are ref()ed (unref: false) so that a handle left behind by stop() would keep the
// process alive and make this test time out.
const scenario = `
  const server = http.createServer((req, res) => { res.statusCode = req.url === '/health' ? 200 : 404; res.end('ok'); });
  server.listen(0, '127.0.0.1', () => {
    const live = 'http://127.0.0.1:' + server.address().port;
    const balancer = new Balancer([{ key: 'live', url: live }, { key: 'dead', url: 'http://127.0.0.1:1' }, { key: 'c', url: live }]);
    const seq = [balancer.pick().key, balancer.pick().key, balancer.pick().key].join(',');
    if (seq !== 'live,dead,c') throw new Error('rotation: ' + seq);
    if (balancer.markDown('c', 'test') !== true) throw new Error('markDown');
    const checker = new HealthChecker({ balancer, probe: httpProbe({ path: '/health' }), intervalMs: 50, timeoutMs: 2000, jitterMs: 0, unref: false });
    checker.on('down', (e) => {
      if (e.key !== 'dead' || e.reason !== 'ECONNREFUSED') throw new Error('down: ' + JSON.stringify(e));
    });
    checker.on('up', (e) => {
      if (e.key !== 'c') throw new Error('up: ' + e.key);
    });
    checker.start();
    const deadline = Date.now() + 10000;
    const poll = setInterval(() => {
      if (balancer.isHealthy('dead') || !balancer.isHealthy('c')) {
        if (Date.now() > deadline) throw new Error('no transition: ' + JSON.stringify(balancer.status()));
        return;
      }
      clearInterval(poll);
      const picks = Array.from({ length: 4 }, () => balancer.pick().key);
      if (picks.includes('dead')) throw new Error('picked a dead target: ' + picks);
      try { balancer.setTargets([{ key: 'x' }, { key: 'x' }]); throw new Error('no throw'); }
      catch (err) { if (err.code !== 'ERR_BALANCER_DUPLICATE_KEY' || err.name !== 'BalancerError') throw err; }
      checker.stop().then(() => server.close());
    }, 20);
  });
`;

it('installs from its packed tarball and works with import, require and TypeScript (node16 + bundler)', async () => {
  await verifyPackedPackage({
    packageDir: fileURLToPath(new URL('..', import.meta.url)),
    dependencies: ['@roundguard/roundrobin'],
    esm: `
      import http from 'node:http';
      import { Balancer, HealthChecker, httpProbe } from '@roundguard/balancer';
      ${scenario}
    `,
    cjs: `
      const http = require('node:http');
      const { Balancer, HealthChecker, httpProbe } = require('@roundguard/balancer');
      ${scenario}
    `,
    ts: `
      import {
        Balancer, HealthChecker, httpProbe, BalancerError,
        type Target, type TargetStatus, type ProbeResult, type Probe, type BalancerErrorCode, type DownEvent,
      } from '@roundguard/balancer';
      interface Upstream extends Target { readonly url: string; readonly pool?: object }
      const balancer = new Balancer<Upstream>([{ key: 'a', url: 'http://127.0.0.1:1', weight: 2 }], { initialHealth: 'down' });
      const picked: Upstream | undefined = balancer.pick();
      const changed: boolean = balancer.markDown('a', 'ECONNREFUSED') || balancer.markUp('a');
      const status: TargetStatus[] = balancer.status();
      const all: readonly Upstream[] = balancer.targets();
      const off: () => void = balancer.onChange((key: string, healthy: boolean, reason: string | undefined, t: Upstream) => {
        void [key, healthy, reason, t];
      });
      const custom: Probe<Upstream> = async (_t, signal) =>
        signal.aborted ? { ok: false, result: 'timeout', error: 'aborted' } : { ok: true };
      const checker = new HealthChecker({ balancer, probe: httpProbe({ path: '/health', timeoutMs: 500 }), intervalMs: 1000, timeoutMs: 500, fall: 2, rise: 2 });
      checker.on('down', (e: DownEvent<Upstream>) => { const url: string = e.target.url; void url; });
      checker.on('probe', (e) => { const ms: number = e.durationMs; const r: 'ok' | 'bad_status' | 'error' | 'timeout' = e.result; void [ms, r]; });
      const stopped: Promise<void> = checker.stop();
      const result: Promise<ProbeResult> | ProbeResult = custom(all[0]!, new AbortController().signal);
      const code: BalancerErrorCode = 'ERR_BALANCER_INVALID_OPTION';
      const isErr = (e: unknown): e is BalancerError => e instanceof BalancerError;
      export { picked, changed, status, off, stopped, result, code, isErr };
    `,
  });
}, 180_000);
