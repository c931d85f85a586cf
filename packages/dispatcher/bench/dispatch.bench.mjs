// Benchmark: BalancedDispatcher beside undici's Pool (one upstream) and BalancedPool (three upstreams),
// in one run, on loopback only.
//
//   pnpm --filter @roundguard/dispatcher bench      (builds with tsup, then runs this file on dist/)
//
// Three plain node:http upstreams run in a child process, so this process spends its CPU on the client
// side only. Each round sends BENCH_REQUESTS GET requests per candidate with BENCH_CONCURRENCY requests
// in flight (undici `request`, body read to the end); candidates are interleaved round by round so they
// see the same machine state, and the median round is reported: wall time per request, and this
// process's CPU time per request (the steadier figure on a shared machine). Prints a Markdown table.
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { BalancedPool, Pool, request } from 'undici';
import { BalancedDispatcher } from '../dist/index.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POOL = { connections: CONCURRENCY };

if (process.argv[2] === 'upstreams') {
  // Child: three upstreams on 127.0.0.1, ports sent to the parent.
  const { createServer } = await import('node:http');
  const body = Buffer.from('{"ok":true}');
  const ports = [];
  for (let i = 0; i < 3; i++) {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push(server.address().port);
  }
  process.send?.(ports);
  process.on('disconnect', () => process.exit(0));
} else {
  const child = fork(fileURLToPath(import.meta.url), ['upstreams'], { stdio: 'inherit' });
  const ports = await new Promise((resolve) => child.once('message', resolve));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);

  const candidates = [
    { name: 'undici `Pool`', upstreams: 1, dispatcher: new Pool(urls[0], POOL) },
    {
      name: '`BalancedDispatcher`',
      upstreams: 1,
      dispatcher: new BalancedDispatcher({ upstreams: [urls[0]], pool: POOL }),
    },
    { name: 'undici `BalancedPool`', upstreams: 3, dispatcher: new BalancedPool(urls, POOL) },
    {
      name: '`BalancedDispatcher`',
      upstreams: 3,
      dispatcher: new BalancedDispatcher({ upstreams: urls, pool: POOL }),
    },
  ];

  /** Sends REQUESTS requests, CONCURRENCY at a time; returns wall and CPU microseconds per request. */
  async function round(dispatcher) {
    let sent = 0;
    let failed = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent++;
        try {
          const res = await request('http://bench.internal/items?id=1', { dispatcher });
          await res.body.dump();
          if (res.statusCode !== 200) failed++;
        } catch {
          failed++;
        }
      }
    };
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const wallUs = Number(process.hrtime.bigint() - start) / 1000 / REQUESTS;
    const used = process.cpuUsage(cpu);
    if (failed > 0) throw new Error(`${failed} failed requests`);
    return { wallUs, cpuUs: (used.user + used.system) / REQUESTS };
  }

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  // Warm-up: connections opened and call sites optimized before timing.
  for (const c of candidates) await round(c.dispatcher);
  const samples = candidates.map(() => ({ wall: [], cpu: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < candidates.length; i++) {
      const { wallUs, cpuUs } = await round(candidates[i].dispatcher);
      samples[i].wall.push(wallUs);
      samples[i].cpu.push(cpuUs);
    }
  }

  const rows = candidates.map((c, i) => ({
    ...c,
    wall: median(samples[i].wall),
    cpu: median(samples[i].cpu),
  }));
  const base = rows[0];
  console.log(
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, ` +
      `${REQUESTS.toLocaleString('en-US')} requests x ${ROUNDS} rounds per candidate, ${CONCURRENCY} in flight, median round\n`,
  );
  console.log('| candidate | upstreams | wall us/req | x Pool | client CPU us/req | x Pool |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.upstreams} | ${r.wall.toFixed(1)} | ${(r.wall / base.wall).toFixed(2)} | ` +
        `${r.cpu.toFixed(1)} | ${(r.cpu / base.cpu).toFixed(2)} |`,
    );
  }
  const ratio = rows[1].cpu / base.cpu;
  console.log(
    `\nBalancedDispatcher (1 upstream) / Pool, client CPU: ${ratio.toFixed(2)}x (goal: within 1.10x)`,
  );

  await Promise.all(candidates.map((c) => c.dispatcher.close()));
  child.disconnect();
}
