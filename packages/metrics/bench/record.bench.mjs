// Cost of recording one proxied request: in-flight +1, one TTFB observation, then in-flight -1, one
// requests_total increment and one request-duration observation.
//
//   pnpm --filter @roundguard/metrics bench          (builds with tsup, then runs this file on dist/)
//   node bench/record.bench.mjs --json               (one JSON object instead of the table)
//
// Three ways, measured in the same process, rounds interleaved:
//   prebound     @roundguard/metrics: up.requestStarted(); up.ttfb(t); up.requestFinished(m, s, o, d)
//   naive        prom-client with a label object per call: gauge.inc({..}), histogram.observe({..}, v), ...
//   children     prom-client `labels()` children created once per label combination and reused
// plus what a scrape (`registry.metrics()`) of the resulting series costs for prebound vs naive.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetrics, PROXY_METRICS } from '../dist/index.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = 300_000;
const json = process.argv.includes('--json');

const UPSTREAMS = ['http://10.0.0.1:3000', 'http://10.0.0.2:3000', 'http://10.0.0.3:3000'];
const SHAPES = [
  ['GET', 200, 'ok'],
  ['GET', 200, 'ok'],
  ['POST', 201, 'ok'],
  ['GET', 404, 'ok'],
  ['HEAD', 200, 'ok'],
  ['GET', 502, 'upstream_error'],
  ['PUT', 504, 'timeout'],
  ['GET', 304, 'ok'],
];
// 64 precomputed requests, so no path allocates its inputs inside the loop.
const REQUESTS = Array.from({ length: 64 }, (_, i) => {
  const [method, status, outcome] = SHAPES[i % SHAPES.length];
  return {
    upstream: UPSTREAMS[i % UPSTREAMS.length],
    method,
    status,
    code: String(status),
    outcome,
    ttfb: 0.0005 * ((i * 7) % 40),
    duration: 0.001 * ((i * 13) % 300),
  };
});

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function prebound() {
  const metrics = createMetrics({ defaultMetrics: false });
  const handles = REQUESTS.map((r) => metrics.upstream(r.upstream));
  return {
    registry: metrics.registry,
    run(n) {
      for (let i = 0; i < n; i++) {
        const r = REQUESTS[i & 63];
        const up = handles[i & 63];
        up.requestStarted();
        up.ttfb(r.ttfb);
        up.requestFinished(r.method, r.status, r.outcome, r.duration);
      }
    },
  };
}

function promClientMetrics() {
  const registry = new Registry();
  const registers = [registry];
  // The same names and labels as createMetrics() registers.
  const config = (spec) => ({
    name: `roundguard_${spec.name}`,
    help: 'h',
    labelNames: [...spec.labels],
    registers,
  });
  return {
    registry,
    total: new Counter(config(PROXY_METRICS.requestsTotal)),
    duration: new Histogram({ ...config(PROXY_METRICS.requestDuration), buckets: BUCKETS }),
    ttfb: new Histogram({ ...config(PROXY_METRICS.upstreamTtfb), buckets: BUCKETS }),
    inFlight: new Gauge(config(PROXY_METRICS.requestsInFlight)),
  };
}

function naive() {
  const m = promClientMetrics();
  return {
    registry: m.registry,
    run(n) {
      for (let i = 0; i < n; i++) {
        const r = REQUESTS[i & 63];
        m.inFlight.inc({ upstream: r.upstream });
        m.ttfb.observe({ upstream: r.upstream }, r.ttfb);
        m.inFlight.dec({ upstream: r.upstream });
        m.total.inc({ upstream: r.upstream, method: r.method, code: r.code, outcome: r.outcome });
        m.duration.observe({ upstream: r.upstream, method: r.method, code: r.code }, r.duration);
      }
    },
  };
}

function children() {
  const m = promClientMetrics();
  const bound = REQUESTS.map((r) => ({
    inFlight: m.inFlight.labels(r.upstream),
    ttfb: m.ttfb.labels(r.upstream),
    total: m.total.labels(r.upstream, r.method, r.code, r.outcome),
    duration: m.duration.labels(r.upstream, r.method, r.code),
  }));
  return {
    registry: m.registry,
    run(n) {
      for (let i = 0; i < n; i++) {
        const r = REQUESTS[i & 63];
        const b = bound[i & 63];
        b.inFlight.inc();
        b.ttfb.observe(r.ttfb);
        b.inFlight.dec();
        b.total.inc();
        b.duration.observe(r.duration);
      }
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const paths = { prebound: prebound(), naive: naive(), children: children() };
const samples = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (const path of Object.values(paths)) path.run(WARMUP);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, path] of Object.entries(paths)) {
    const start = process.hrtime.bigint();
    path.run(ITERATIONS);
    samples[name].push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
}

// Every path must have recorded the same requests: compare the requests_total sums.
const recorded = WARMUP + ROUNDS * ITERATIONS;
for (const [name, path] of Object.entries(paths)) {
  await path.registry.metrics();
  const metric = path.registry.getMetricsAsArray().find((m) => m.name.endsWith('requests_total'));
  const { values } = await metric.get();
  const sum = values.reduce((s, v) => s + v.value, 0);
  if (sum !== recorded) throw new Error(`${name} recorded ${sum} requests, expected ${recorded}`);
}

// Scrape cost: the same series under the same names, rendered by registry.metrics() (prebound first
// flushes what changed since the previous scrape into prom-client). Interleaved, after fresh requests.
const scrapeTimes = { prebound: [], naive: [] };
for (let i = 0; i < 100; i++) {
  for (const name of Object.keys(scrapeTimes)) {
    paths[name].run(1_000);
    const start = process.hrtime.bigint();
    await paths[name].registry.metrics();
    if (i >= 20) scrapeTimes[name].push(Number(process.hrtime.bigint() - start) / 1e3);
  }
}
const scrape = Object.fromEntries(Object.entries(scrapeTimes).map(([k, v]) => [k, median(v)]));

const result = {
  node: process.version,
  iterations: ITERATIONS,
  rounds: ROUNDS,
  nsPerRequest: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))])),
  scrapeMicroseconds: Object.fromEntries(Object.entries(scrape).map(([k, v]) => [k, Math.round(v)])),
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const base = result.nsPerRequest.naive;
  console.log(`Recording one request (in-flight +1/-1, TTFB + duration observe, requests_total +1)`);
  console.log(
    `node ${result.node}, ${ITERATIONS.toLocaleString('en')} requests x ${ROUNDS} rounds, median per request\n`,
  );
  for (const [name, ns] of Object.entries(result.nsPerRequest)) {
    console.log(
      `  ${name.padEnd(9)} ${String(ns).padStart(6)} ns/request   ${(base / ns).toFixed(1).padStart(5)}x vs naive`,
    );
  }
  console.log(
    `\nScrape (registry.metrics(), ${UPSTREAMS.length} upstreams x ${new Set(SHAPES.map(([m, s]) => m + s)).size} method/status pairs, same metric names):`,
  );
  for (const [name, us] of Object.entries(result.scrapeMicroseconds))
    console.log(`  ${name.padEnd(9)} ${String(us).padStart(6)} µs`);
}
