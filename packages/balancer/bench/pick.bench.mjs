// Benchmark: Balancer.pick() beside RoundRobin.next() / WeightedRoundRobin.next(), in the same run.
//
//   pnpm --filter @roundguard/balancer bench      (builds with tsup, then runs this file on dist/)
//
// Each case times OPS calls in a plain loop with process.hrtime.bigint(), ROUNDS times, interleaving the
// baseline and the balancer so that both see the same machine state; the median round is reported.
// Prints a Markdown table (the one in README.md).
import { RoundRobin, WeightedRoundRobin } from '@roundguard/roundrobin';
import os from 'node:os';
import { Balancer } from '../dist/index.js';

const OPS = Number(process.env.BENCH_OPS ?? 5_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

let sink = 0;

/** Nanoseconds per call of `fn` over OPS calls. */
function time(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const target = fn();
    if (target === undefined) sink++;
  }
  return Number(process.hrtime.bigint() - start) / OPS;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(baseline, candidate) {
  // Warm-up: let both call sites be optimized before timing.
  time(baseline);
  time(candidate);
  const a = [];
  const b = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(time(baseline));
    b.push(time(candidate));
  }
  return { baseline: median(a), candidate: median(b) };
}

const cases = [];
for (const weighted of [false, true]) {
  for (const n of [3, 1000]) {
    for (const downShare of [0, 0.5]) cases.push({ n, downShare, weighted });
  }
}

const rows = [];
for (const { n, downShare, weighted } of cases) {
  const targets = Array.from({ length: n }, (_, i) => ({
    key: `t${i}`,
    url: `http://10.0.${i >> 8}.${i & 255}:8080`,
    ...(weighted ? { weight: 1 + (i % 3) } : {}),
  }));
  const balancer = new Balancer(targets);
  const down = Math.floor(n * downShare);
  // Take every other target down (spread, not a block), as failures would be.
  for (let i = 0, done = 0; done < down; i += 2, done++) balancer.markDown(targets[i].key, 'bench');
  const healthy = targets.filter((t) => balancer.isHealthy(t.key));
  if (balancer.healthyCount !== n - down) throw new Error('bench set-up');

  const rotation = weighted
    ? new WeightedRoundRobin(healthy.map((t) => ({ item: t, weight: t.weight })))
    : new RoundRobin(healthy);
  const baseline = () => rotation.next();
  const pick = () => balancer.pick();
  const { baseline: base, candidate } = measure(baseline, pick);
  rows.push({
    targets: n,
    down: `${down} (${Math.round(downShare * 100)}%)`,
    kind: weighted ? 'weighted (1-3)' : 'equal',
    baselineName: weighted ? '`WeightedRoundRobin.next()`' : '`RoundRobin.next()`',
    base,
    candidate,
  });
}

const fmt = (ns) => ns.toFixed(1);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${OPS.toLocaleString('en-US')} calls x ${ROUNDS} rounds, median\n`,
);
console.log('| targets | down | weights | baseline | baseline ns/op | `Balancer.pick()` ns/op | ratio |');
console.log('|---:|---:|---|---|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.targets} | ${r.down} | ${r.kind} | ${r.baselineName} | ${fmt(r.base)} | ${fmt(r.candidate)} | ${(r.candidate / r.base).toFixed(2)}x |`,
  );
}
if (sink !== 0) console.log(`\n(${sink} undefined picks)`);
const worst = Math.max(...rows.map((r) => r.candidate / r.base));
console.log(`\nWorst ratio: ${worst.toFixed(2)}x (goal: within 2x)`);
process.exitCode = worst <= 2 ? 0 : 1;
