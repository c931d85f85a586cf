import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { verifyPackedPackage } from '../../../scripts/pack-check.mjs';

it('installs from its packed tarball and works with import, require and TypeScript (node16 + bundler)', async () => {
  await verifyPackedPackage({
    packageDir: fileURLToPath(new URL('..', import.meta.url)),
    dependencies: [],
    esm: `
      import { RoundRobin, WeightedRoundRobin } from '@roundguard/roundrobin';
      const rr = new RoundRobin(['a', 'b']);
      const got = [rr.next(), rr.next(), rr.next()].join('');
      if (got !== 'aba') throw new Error('ESM rotation: ' + got);
      const w = new WeightedRoundRobin([{ item: 'a', weight: 5 }, { item: 'b', weight: 1 }, { item: 'c', weight: 1 }]);
      const seq = Array.from({ length: 7 }, () => w.next()).join('');
      if (seq !== 'aabacaa') throw new Error('ESM weighted: ' + seq);
      const d = new WeightedRoundRobin([{ item: 'a', weight: 2 }, { item: 'b' }]);
      if (d.entries()[1].weight !== 1) throw new Error('ESM default weight: ' + JSON.stringify(d.entries()));
    `,
    cjs: `
      const { RoundRobin, WeightedRoundRobin } = require('@roundguard/roundrobin');
      const rr = new RoundRobin(['a', 'b']);
      if ([rr.next(), rr.next(), rr.next()].join('') !== 'aba') throw new Error('CJS rotation');
      try { new WeightedRoundRobin([{ item: 'a', weight: -1 }]); throw new Error('no throw'); }
      catch (err) { if (err.code !== 'ERR_RR_INVALID_WEIGHT' || !(err instanceof TypeError)) throw err; }
      try { new RoundRobin('ab'); throw new Error('no throw'); }
      catch (err) { if (err.code !== 'ERR_RR_INVALID_ITEMS') throw err; }
    `,
    ts: `
      import {
        RoundRobin, WeightedRoundRobin, RoundRobinError,
        type WeightedEntry, type ResolvedWeightedEntry, type RoundRobinErrorCode,
      } from '@roundguard/roundrobin';
      const rr = new RoundRobin<string>(['a']);
      const next: string | undefined = rr.next();
      const items: readonly string[] = rr.items();
      const entries: WeightedEntry<number>[] = [{ item: 1, weight: 2 }, { item: 3 }];
      const w = new WeightedRoundRobin(entries);
      const n: number | undefined = w.next();
      const resolved: readonly ResolvedWeightedEntry<number>[] = w.entries();
      const weight: number = resolved[0]!.weight;
      const code: RoundRobinErrorCode = 'ERR_RR_INVALID_WEIGHT';
      const isErr = (e: unknown): e is RoundRobinError => e instanceof RoundRobinError;
      export { next, items, n, weight, code, isErr };
    `,
  });
}, 180_000);
