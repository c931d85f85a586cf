// Tiny shared micro-benchmark runner for the libraries' `bench` scripts.
//
// Each case is a function that performs `ops` operations in its own loop and returns something derived
// from the results (so the JIT cannot drop the work). A case is warmed up, then timed in `samples`
// samples; the median ns per operation is reported. Use one process for cases that are compared, so
// they run on the same machine state, and read ratios rather than absolute numbers.

/** @typedef {{ name: string, ops: number, run: () => unknown }} BenchCase */

let sink = 0;

/**
 * @param {BenchCase} c
 * @param {{ samples?: number, minSampleMs?: number }} [options]
 * @returns {{ name: string, nsPerOp: number, opsPerSec: number }}
 */
export function measure(c, { samples = 7, minSampleMs = 150 } = {}) {
  // Warm-up and calibration: find how many runs fill minSampleMs.
  let runs = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let r = 0; r < runs; r++) sink ^= Number(Boolean(c.run()));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms >= minSampleMs) break;
    runs *= 2;
  }
  const results = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let r = 0; r < runs; r++) sink ^= Number(Boolean(c.run()));
    results.push(Number(process.hrtime.bigint() - start) / (runs * c.ops));
  }
  results.sort((a, b) => a - b);
  const nsPerOp = results[Math.floor(results.length / 2)];
  return { name: c.name, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

/**
 * Runs the cases and prints a Markdown table: name, ns/op, ops/s, and the ratio to a baseline case
 * (by name) when given.
 * @param {string} title
 * @param {BenchCase[]} cases
 * @param {{ baseline?: (name: string) => string | undefined }} [options]
 */
export function runBench(title, cases, { baseline } = {}) {
  const results = new Map();
  for (const c of cases) results.set(c.name, measure(c));
  console.log(`\n### ${title}\n`);
  console.log(`Node.js ${process.version}, ${process.arch}\n`);
  console.log('| case | ns/op | ops/s | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const r of results.values()) {
    const base = baseline?.(r.name);
    const ratio = base && results.has(base) ? (r.nsPerOp / results.get(base).nsPerOp).toFixed(2) + 'x' : '';
    console.log(
      `| ${r.name} | ${r.nsPerOp.toFixed(2)} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${ratio} |`,
    );
  }
  if (sink === 0.5) console.log('');
  return results;
}
