#!/usr/bin/env node
// `pnpm bench`: Roundguard against nginx and HAProxy (when installed) and against no proxy at all, in one
// run, on this machine. Starts 3 plain node:http echo backends, then for each round (order reversed every
// other round) and each candidate: start it -> wait for GET /health -> correctness check -> warm-up ->
// measured wrk runs (100 B POST, 50 connections; 64 KiB POST, 20 connections) -> stop it. Also measures
// the echo app against a bare node:http echo server. Prints a Markdown report on stdout (progress on
// stderr) and writes the raw records to .bench-results/<timestamp>.json. Loopback (127.0.0.1) only.
// Then the WebSocket workload (scripts/bench/websocket.mjs): messages/s through the proxy vs direct.
// Never part of `pnpm test`. Files: scripts/bench/*. Run with --help for the options.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KNOWN, buildCandidates } from './bench/candidates.mjs';
import {
  CLK_TCK,
  cpuDelta,
  cpuSnapshot,
  firstLine,
  freePort,
  httpRequest,
  killAllSync,
  selfAndReapedChildrenCpuSeconds,
  setAffinity,
  startGroup,
  stopGroup,
  treeCpuSeconds,
  waitForHttp,
  which,
} from './bench/procs.mjs';
import { median, renderReport } from './bench/report.mjs';
import { runWebSocketBench } from './bench/websocket.mjs';
import { runWrk } from './bench/wrk.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, 'scripts/bench');
const BACKENDS = 3;
const LOADGEN_CPU = '0'; // wrk
const SERVER_CPU = '1'; // the proxy (or echo server) under test and the backends

const HELP = `usage: node scripts/bench.mjs [options]        (pnpm bench builds first, then runs this)

  --quick              smoke run (under a minute): 1 round, 2 s per workload, 1 s warm-up per start,
                       no roundguard-w2 unless --only or --workers-scaling asks for it
  --rounds N           rounds, order reversed every other round (default 2; --quick 1)
  --duration S         whole seconds per measured workload (default 10; --quick 2)
  --warmup S           unrecorded warm-up after each start: 1 s runs of the 100 B load, at least S of them
                       (default 3; --quick 1), more until the last 3 agree within 10 %, ...
  --warmup-max S       ... up to S runs (default 10; --quick 1); then 1 s of 64 KiB load (not with --quick)
  --only LIST          comma-separated candidates to run (default: all that are available, without the
                       unpinned ones): ${KNOWN.join(', ')}
  --workers-scaling    also run roundguard-nopin, roundguard-w2-nopin and nginx-w2-nopin with nothing pinned
  --baseline DIR       also measure the proxy built in another checkout DIR (e.g. a \`git worktree\` of an
                       older commit, built with \`pnpm build\`), as roundguard-baseline: before/after in one run
  --websocket-only     run only the WebSocket workload (messages/s through the proxy vs direct)
  --skip-websocket     leave the WebSocket workload out
  --keep-tmp           keep the temp dir (generated configs, logs) even when all went well
  -h, --help           this text

Needs wrk (apt-get install wrk); nginx (nginx-light) and haproxy are optional anchors, skipped with a
note when missing; taskset (util-linux) pins wrk to CPU 0 and the servers to CPU 1.`;

// ------------------------------------------------------------------------------------------ options

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'warmup-max': { type: 'string' },
      only: { type: 'string' },
      'workers-scaling': { type: 'boolean', default: false },
      'keep-tmp': { type: 'boolean', default: false },
      'websocket-only': { type: 'boolean', default: false },
      'skip-websocket': { type: 'boolean', default: false },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const int = (name, value, dflt, min) => {
    if (value === undefined) return dflt;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min} (got "${value}")`);
    return n;
  };
  const q = values.quick;
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  for (const n of only ?? [])
    if (!KNOWN.includes(n)) throw new Error(`--only: unknown candidate "${n}" (known: ${KNOWN.join(', ')})`);
  return {
    quick: q,
    rounds: int('rounds', values.rounds, q ? 1 : 2, 1),
    duration: int('duration', values.duration, q ? 2 : 10, 1),
    warmup: int('warmup', values.warmup, q ? 1 : 3, 1),
    warmupMax: Math.max(
      int('warmup-max', values['warmup-max'], q ? 1 : 10, 1),
      int('warmup', values.warmup, q ? 1 : 3, 1),
    ),
    warmupLarge: q ? 0 : 1, // seconds of 64 KiB warm-up; --quick skips it to stay under a minute
    only,
    workersScaling: values['workers-scaling'],
    keepTmp: values['keep-tmp'],
    websocketOnly: values['websocket-only'],
    skipWebsocket: values['skip-websocket'],
    baseline: values.baseline === undefined ? null : path.resolve(values.baseline),
  };
}

// ------------------------------------------------------------------------------------------ helpers

const t0 = Date.now();
/** The temp dir, and whether to keep it (--keep-tmp, or something failed and its logs tell why). */
const scratch = { dir: null, keep: false };
const log = (msg) =>
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
};

/** A valid JSON object of exactly `size` bytes. */
function jsonOfSize(size) {
  const shell = JSON.stringify({ id: 1234567, name: 'roundguard', ok: true, pad: '' });
  return Buffer.from(
    JSON.stringify({ id: 1234567, name: 'roundguard', ok: true, pad: 'x'.repeat(size - shell.length) }),
  );
}

function versions(tools) {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    wrk: firstLine(tools.wrk, ['-v'])?.split(' [')[0] ?? null,
    nginx: tools.nginx ? (firstLine(tools.nginx, ['-v'])?.replace('nginx version: ', '') ?? null) : null,
    haproxy: tools.haproxy
      ? (firstLine(tools.haproxy, ['-v'])?.replace(/^HA-?Proxy version (\S+).*/, 'haproxy $1') ?? null)
      : null,
    kernel: os.release(),
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.availableParallelism(),
    clkTck: CLK_TCK,
    commit,
  };
}

/** POST counters of every backend, read directly from its /__stats (never through a proxy). */
async function backendPosts(ports) {
  const stats = await Promise.all(ports.map((port) => httpRequest({ port, path: '/__stats' })));
  return stats.map((s) => JSON.parse(s.body.toString()).post);
}

// ------------------------------------------------------------------------------------------ main

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    fail(`${err.message}\n\n${HELP}`); // bad command line: exit 1 without a stack trace
  }

  // Tools and build outputs.
  const tools = {
    wrk: which('wrk'),
    nginx: which('nginx'),
    haproxy: which('haproxy'),
    taskset: which('taskset'),
  };
  if (!tools.wrk)
    fail('wrk is not installed: apt-get install wrk (nginx-light and haproxy are optional anchors)');
  for (const f of ['apps/proxy/dist/main.js', 'apps/echo/dist/main.js']) {
    if (!fs.existsSync(path.join(ROOT, f)))
      fail(`${f} is missing: run \`pnpm build\` first (\`pnpm bench\` does)`);
  }
  if (opts.baseline && !fs.existsSync(path.join(opts.baseline, 'apps/proxy/dist/main.js')))
    fail(`--baseline ${opts.baseline}: apps/proxy/dist/main.js is missing there: run \`pnpm build\` in it`);
  const help = spawnSync(process.execPath, [path.join(ROOT, 'apps/proxy/dist/main.js'), '--help'], {
    encoding: 'utf8',
  });
  const rgWorkers = /--workers\b/.test(`${help.stdout}${help.stderr}`);
  const cores = os.availableParallelism();
  const pinned = Boolean(tools.taskset) && cores >= 2;
  const pinNote = !tools.taskset
    ? 'taskset not found: apt-get install util-linux'
    : cores < 2
      ? `only ${cores} core`
      : '';
  const cpusFor = (role, c) =>
    pinned && c.group === 'pinned' ? (role === 'loadgen' ? LOADGEN_CPU : SERVER_CPU) : null;

  const { candidates: available, skipped } = buildCandidates({
    root: ROOT,
    benchDir: BENCH_DIR,
    tools,
    rgWorkers,
    workersScaling: opts.workersScaling,
    quick: opts.quick,
    only: opts.only,
    baseline: opts.baseline,
  });
  const candidates = opts.websocketOnly ? [] : available;
  if (!candidates.length && !opts.websocketOnly)
    fail(`no candidate to run (${skipped.join('; ') || 'empty --only'})`);
  const needsBackends = candidates.some((c) => c.kind !== 'server');

  // Temp dir: bodies, generated nginx/haproxy configs, logs. nginx workers run as nobody when started as
  // root, so the dir must be traversable.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roundguard-bench-'));
  Object.assign(scratch, { dir: tmp, keep: opts.keepTmp });
  fs.chmodSync(tmp, 0o755);
  fs.mkdirSync(path.join(tmp, 'logs'));
  const bodies = { small: jsonOfSize(100), large: jsonOfSize(64 * 1024) };
  const bodyFiles = { small: path.join(tmp, 'body-100.json'), large: path.join(tmp, 'body-65536.json') };
  for (const k of Object.keys(bodies)) fs.writeFileSync(bodyFiles[k], bodies[k]);
  const workloads = [
    { name: 'small', desc: 'POST 100 B JSON', connections: 50, seconds: opts.duration },
    { name: 'large', desc: 'POST 64 KiB JSON', connections: 20, seconds: opts.duration },
  ];

  // Whatever happens, nothing started here outlives this process.
  process.on('exit', () => {
    killAllSync();
    if (!scratch.keep) fs.rmSync(tmp, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`${sig}: stopping everything`);
      process.exit(128 + os.constants.signals[sig]);
    });
  }

  const started = new Date().toISOString();
  log(
    `candidates: ${candidates.map((c) => c.name).join(', ')}${skipped.length ? `; skipped: ${skipped.join('; ')}` : ''}`,
  );
  log(
    `${opts.rounds} round(s), ${opts.duration} s per workload, ${pinned ? 'wrk on CPU 0, servers on CPU 1' : `no pinning (${pinNote})`}; temp ${tmp}`,
  );

  // Backends: started once, pinned to the server CPU, JIT-warmed so that the first candidate is not penalised.
  const backendPorts = [];
  const backends = [];
  if (needsBackends) {
    for (let i = 0; i < BACKENDS; i++) {
      const port = await freePort();
      backendPorts.push(port);
      backends.push(
        startGroup(
          `backend-b${i + 1}`,
          process.execPath,
          [path.join(BENCH_DIR, 'backend.mjs'), String(port), `b${i + 1}`],
          {
            cpus: pinned ? SERVER_CPU : null,
            tasksetPath: tools.taskset,
            stdout: path.join(tmp, 'logs', `backend-b${i + 1}.log`),
            stderr: path.join(tmp, 'logs', `backend-b${i + 1}.log`),
          },
        ),
      );
    }
    for (const [i, b] of backends.entries()) await waitForHttp(backendPorts[i], '/health', b, 15);
    await Promise.all(
      backendPorts.map((port) =>
        runWrk({
          ...loadOpts(tools, pinned ? LOADGEN_CPU : null),
          port,
          urlPath: '/echo',
          bodyFile: bodyFiles.small,
          connections: 16,
          seconds: 1,
        }),
      ),
    );
    log(`backends on 127.0.0.1:${backendPorts.join(', ')} (warmed up)`);
  }
  const backendCpu = () => backends.reduce((s, b) => s + treeCpuSeconds(b.pid), 0);

  const records = [];
  const checks = {};
  const warmups = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? candidates : [...candidates].reverse();
    for (const c of order) {
      await runCandidate(c, round);
    }
  }
  for (const b of backends) await stopGroup(b);

  // The WebSocket workload: its own backend and load generator (wrk has no WebSocket), same pinning.
  const websocket = opts.skipWebsocket
    ? null
    : await runWebSocketBench({
        root: ROOT,
        benchDir: BENCH_DIR,
        tools,
        cpusFor: (role) => (pinned ? (role === 'loadgen' ? LOADGEN_CPU : SERVER_CPU) : null),
        rounds: opts.rounds,
        seconds: opts.duration,
        warmupS: opts.warmup,
        tmp,
        log,
      }).catch((err) => {
        log(`websocket: FAILED: ${err.message}`);
        return { rows: [], markdown: `## WebSocket\n\nFAILED: ${err.message}`, failed: true };
      });

  // ---------------------------------------------------------------- one candidate in one round
  async function runCandidate(c, round) {
    const loadCpus = cpusFor('loadgen', c);
    const unpinBackends = pinned && c.group === 'unpinned' && backends.length;
    const logFile = path.join(tmp, 'logs', `${c.name}-r${round}.log`);
    const failAll = (err) => {
      for (const wl of c.workloads)
        records.push({ round, candidate: c.name, group: c.group, workload: wl, failed: true, error: err });
      log(`round ${round} ${c.name}: FAILED: ${err}`);
    };
    let entry = null;
    let port = backendPorts[0];
    try {
      if (unpinBackends) for (const b of backends) setAffinity(tools.taskset, b.pid, `0-${cores - 1}`);
      if (c.kind !== 'direct') {
        port = await freePort();
        const dir = path.join(tmp, 'run', `${c.name}-r${round}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(dir, 0o777);
        const l = c.launch({ port, adminPort: await freePort(), dir, backendPorts });
        entry = startGroup(c.name, l.cmd, l.args, {
          cpus: cpusFor('server', c),
          tasksetPath: tools.taskset,
          stdout: l.stdout ?? logFile,
          stderr: logFile,
        });
        const readyS = await waitForHttp(port, '/health', entry, 20);
        log(`round ${round} ${c.name}: up in ${readyS.toFixed(2)} s (pid ${entry.pid})`);
      } else {
        log(`round ${round} ${c.name}`);
      }

      const check = await checkCandidate(c, port);
      (checks[c.name] ??= []).push(check);
      if (!check.ok) log(`  ${c.name}: CHECK FAILED: ${check.problems.join('; ')}`);

      const load = (wl, seconds) =>
        runWrk({
          ...loadOpts(tools, loadCpus),
          port,
          urlPath: '/echo',
          bodyFile: bodyFiles[wl],
          connections: workloads.find((w) => w.name === wl).connections,
          seconds,
        });
      // Warm-up, not recorded: 1 s runs of the small workload, at least --warmup of them, then until the last
      // 3 agree within 10 %, at most --warmup-max. JIT tiers depend on request counts: a Node proxy takes tens
      // of thousands of requests to reach its steady state (with a plateau on the way, hence 3 runs), nginx none.
      const warm = [];
      while (warm.length < opts.warmupMax) {
        warm.push((await load('small', 1)).rps);
        const last = warm.slice(-3);
        if (warm.length >= opts.warmup && Math.max(...last) <= 1.1 * Math.min(...last)) break;
      }
      const warmLarge = c.workloads.includes('large') ? opts.warmupLarge : 0;
      if (warmLarge) await load('large', warmLarge);
      const warmText = `${warm.length} s small${warmLarge ? ` + ${warmLarge} s large` : ''}`;
      log(`  warm-up ${warmText}: ${warm.map((x) => Math.round(x)).join(', ')} req/s`);
      warmups.push({ round, candidate: c.name, smallRps: warm });

      for (const wl of workloads.filter((w) => c.workloads.includes(w.name))) {
        const posts0 = backends.length ? await backendPosts(backendPorts) : [];
        const cand0 = entry ? treeCpuSeconds(entry.pid) : 0;
        const back0 = backendCpu();
        const self0 = selfAndReapedChildrenCpuSeconds().self;
        const sys0 = cpuSnapshot();
        const wall0 = process.hrtime.bigint();
        let r;
        try {
          r = await load(wl.name, wl.seconds);
        } catch (err) {
          records.push({
            round,
            candidate: c.name,
            group: c.group,
            workload: wl.name,
            failed: true,
            error: err.message,
          });
          log(`  ${wl.name}: FAILED: ${err.message}`);
          continue;
        }
        const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
        const sys = cpuDelta(sys0, cpuSnapshot());
        const candCpuS = entry ? treeCpuSeconds(entry.pid) - cand0 : null;
        const backendCpuS = backendCpu() - back0;
        const harnessCpuS = selfAndReapedChildrenCpuSeconds().self - self0;
        const posts1 = backends.length ? await backendPosts(backendPorts) : [];
        // CPU busy on the machine that none of our processes account for: other work on this box
        // (approximate: softirq time of our own loopback traffic is left out on both sides).
        const ours = (candCpuS ?? 0) + backendCpuS + r.wrkCpuS + harnessCpuS;
        const rec = {
          round,
          candidate: c.name,
          group: c.group,
          workload: wl.name,
          requests: r.requests,
          durationS: r.duration_us / 1e6,
          rps: r.rps,
          p50_us: r.p50_us,
          p90_us: r.p90_us,
          p99_us: r.p99_us,
          lat_max_us: r.lat_max_us,
          socketErrors: r.err_connect + r.err_read + r.err_write + r.err_timeout,
          non2xx: r.non2xx,
          wrkErrors: {
            connect: r.err_connect,
            read: r.err_read,
            write: r.err_write,
            timeout: r.err_timeout,
            status: r.err_status,
          },
          split: c.kind === 'server' ? [] : posts1.map((n, i) => n - posts0[i]),
          wallS,
          candidateCpuS: candCpuS,
          cpuUsPerReq: candCpuS === null ? null : (candCpuS * 1e6) / r.requests,
          backendCpuS,
          backendCpuUsPerReq: (backendCpuS * 1e6) / r.requests,
          wrkCpuS: r.wrkCpuS,
          harnessCpuS,
          cpuBusy: sys.perCpu,
          otherCores: Math.max(0, (sys.busyS - ours) / wallS),
          stealCores: sys.stealS / wallS,
          wrkCmd: r.cmdline,
        };
        if (entry?.exited)
          Object.assign(rec, { failed: true, error: `exited during the run (code ${entry.code})` });
        records.push(rec);
        const errs = rec.socketErrors + rec.non2xx;
        log(
          `  ${wl.name.padEnd(5)} ${Math.round(rec.rps).toString().padStart(7)} req/s  p50 ${(rec.p50_us / 1000).toFixed(2)} ms  ` +
            `p99 ${(rec.p99_us / 1000).toFixed(2)} ms  errors ${errs}  split ${rec.split.join('/') || '-'}  ` +
            `CPU ${rec.cpuUsPerReq === null ? '-' : rec.cpuUsPerReq.toFixed(1)} us/req  other load ${rec.otherCores.toFixed(2)} cores`,
        );
      }
    } catch (err) {
      let msg = err.message;
      if (fs.existsSync(logFile))
        msg += ` | log: ${fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' / ')}`;
      failAll(msg);
    } finally {
      if (entry) await stopGroup(entry);
      if (unpinBackends) for (const b of backends) setAffinity(tools.taskset, b.pid, SERVER_CPU);
    }
  }

  // ---------------------------------------------------------------- correctness check through a candidate
  async function checkCandidate(c, port) {
    const problems = [];
    const sizes = c.workloads.includes('large') ? ['small', 'large'] : ['small'];
    for (const k of sizes) {
      const r = await httpRequest({ port, method: 'POST', path: '/echo', body: bodies[k] });
      if (r.status !== 200) problems.push(`POST ${bodies[k].length} B -> ${r.status}`);
      else if (!r.body.equals(bodies[k]))
        problems.push(`POST ${bodies[k].length} B: echo differs (${r.body.length} B back)`);
      else if (!/^application\/json\b/.test(r.headers['content-type'] ?? '')) {
        problems.push(`POST ${bodies[k].length} B: content-type ${r.headers['content-type']}`);
      }
    }
    let rr = null;
    if (c.kind === 'proxy') {
      // Round robin: 30 sequential requests on one keep-alive connection must split exactly 10/10/10.
      const n = 10 * BACKENDS;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const before = await backendPosts(backendPorts);
      for (let i = 0; i < n; i++)
        await httpRequest({ port, method: 'POST', path: '/echo', body: bodies.small, agent });
      agent.destroy();
      rr = (await backendPosts(backendPorts)).map((x, i) => x - before[i]);
      if (rr.some((x) => x !== n / BACKENDS))
        problems.push(`${n} sequential requests split ${rr.join('/')}, not even`);
    }
    return { ok: problems.length === 0, problems, rr };
  }

  // ---------------------------------------------------------------- report
  const elapsedS = (Date.now() - t0) / 1000;
  const failedChecks = Object.entries(checks).filter(([, cs]) => cs.some((x) => !x.ok));
  const checksText =
    candidates
      .map(
        (c) =>
          `${c.name} ${!checks[c.name] ? 'not run' : checks[c.name].every((x) => x.ok) ? 'ok' : 'FAILED'}`,
      )
      .join(', ') +
    failedChecks.map(([n, cs]) => ` — ${n}: ${cs.flatMap((x) => x.problems).join('; ')}`).join('');
  const measured = records.filter((r) => !r.failed);
  const other = measured.map((r) => r.otherCores);
  const worst = measured.reduce((w, r) => (!w || r.otherCores > w.otherCores ? r : w), null);
  const maxSteal = Math.max(0, ...measured.map((r) => r.stealCores));
  const loadgenBusy = measured.filter((r) => r.wrkCpuS / r.wallS > 0.9);
  let noise =
    `other load on the machine during the measured runs (CPU not used by wrk, backends, candidate or this script): ` +
    `median ${median(other).toFixed(2)} cores, max ${worst ? `${worst.otherCores.toFixed(2)} (${worst.candidate} ${worst.workload} round ${worst.round})` : '-'}; ` +
    `steal max ${maxSteal.toFixed(2)} cores.`;
  if (worst && worst.otherCores > 0.15)
    noise +=
      ' **Other processes were busy during this run: compare rows of this run only, and rerun on a quiet machine before trusting differences under ~20 %.**';
  if (loadgenBusy.length) {
    noise += ` wrk used > 90 % of a core in ${loadgenBusy.length} run(s) (${loadgenBusy.map((r) => `${r.candidate} ${r.workload} r${r.round}`).join(', ')}): the load generator may have been the limit there.`;
  }

  const meta = {
    started,
    command: `node scripts/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    options: opts,
    rounds: opts.rounds,
    warmupS: opts.warmup,
    warmupMaxS: opts.warmupMax,
    warmupLargeS: opts.warmupLarge,
    pinned,
    pinNote,
    versions: versions(tools),
    checks: checksText,
    skipped,
    noise,
    elapsedS,
    backendPorts,
  };
  const report = [
    candidates.length ? renderReport({ records, candidates, workloads, meta }) : '',
    websocket?.markdown ?? '',
  ]
    .filter(Boolean)
    .join('\n\n');
  process.stdout.write(`${report}\n`);

  const resultsDir = path.join(ROOT, '.bench-results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${started.replace(/[:.]/g, '-')}.json`);
  const candInfo = candidates.map(({ name, kind, group, workloads: w, describe }) => ({
    name,
    kind,
    group,
    workloads: w,
    describe,
  }));
  fs.writeFileSync(
    file,
    `${JSON.stringify({ meta, candidates: candInfo, checks, warmups, records, websocket: websocket?.rows ?? null, report }, null, 2)}\n`,
  );

  const failures = records.filter((r) => r.failed).length + failedChecks.length + (websocket?.failed ? 1 : 0);
  if (failures) scratch.keep = true;
  log(
    `done in ${elapsedS.toFixed(0)} s; raw results: ${path.relative(ROOT, file)}${scratch.keep ? `; logs and configs kept in ${tmp}` : ''}`,
  );
  if (failures) {
    process.stderr.write(`bench: ${failures} failed run(s) or check(s); see the report and ${tmp}/logs\n`);
    process.exitCode = 1;
  }
}

/** wrk settings shared by every run. */
function loadOpts(tools, cpus) {
  return { wrkPath: tools.wrk, tasksetPath: tools.taskset, cpus };
}

main().catch((err) => {
  scratch.keep = true;
  process.stderr.write(`bench: ${err.stack ?? err}\n${scratch.dir ? `logs: ${scratch.dir}/logs\n` : ''}`);
  process.exit(1); // the 'exit' handler kills every process group still running
});
