// ns per next(): RoundRobin beside a bare `arr[i++ % n]` loop, and WeightedRoundRobin, in one run.
// Run with `pnpm --filter @roundguard/roundrobin bench` (builds first; measures the published dist).
import { RoundRobin, WeightedRoundRobin } from '../dist/index.js';
import { runBench } from '../../../scripts/microbench.mjs';

const OPS = 100_000;
const cases = [];
for (const n of [3, 100, 10_000]) {
  const items = Array.from({ length: n }, (_, i) => ({ id: i }));
  let i = 0;
  cases.push({
    name: `bare arr[i++ % n], n=${n}`,
    ops: OPS,
    run() {
      let acc = 0;
      for (let k = 0; k < OPS; k++) acc += items[i++ % n].id;
      return acc;
    },
  });
  const rr = new RoundRobin(items);
  cases.push({
    name: `RoundRobin.next(), n=${n}`,
    ops: OPS,
    run() {
      let acc = 0;
      for (let k = 0; k < OPS; k++) acc += rr.next().id;
      return acc;
    },
  });
}
for (const n of [3, 100]) {
  const entries = Array.from({ length: n }, (_, i) => ({ item: { id: i }, weight: 1 + (i % 5) }));
  const wrr = new WeightedRoundRobin(entries);
  cases.push({
    name: `WeightedRoundRobin.next(), n=${n}`,
    ops: OPS,
    run() {
      let acc = 0;
      for (let k = 0; k < OPS; k++) acc += wrr.next().id;
      return acc;
    },
  });
}

runBench('@roundguard/roundrobin: next()', cases, {
  baseline: (name) => {
    const n = name.split('n=')[1];
    if (name.startsWith('RoundRobin')) return `bare arr[i++ % n], n=${n}`;
    if (name.startsWith('Weighted')) return `RoundRobin.next(), n=${n === '100' ? '100' : '3'}`;
    return undefined;
  },
});
