// Markdown report of `pnpm bench`: one table per workload (and per pinning group), the echo-app table,
// and the notes that say how to read them. Input: the raw run records made by scripts/bench.mjs.

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '-');
const fixed = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '-');

/** Median figures over the rounds of one candidate on one workload (failed rounds left out, but counted). */
export function aggregate(records, name, workload) {
  const rs = records.filter((r) => r.candidate === name && r.workload === workload);
  const ok = rs.filter((r) => !r.failed);
  const split = ok.length ? ok[0].split.map((_, i) => ok.reduce((s, r) => s + r.split[i], 0)) : [];
  const splitTotal = split.reduce((s, x) => s + x, 0);
  return {
    runs: rs.length,
    ok: ok.length,
    failures: rs.filter((r) => r.failed).map((r) => `round ${r.round}: ${r.error}`),
    rpsByRound: ok.map((r) => r.rps),
    rps: median(ok.map((r) => r.rps)),
    p50us: median(ok.map((r) => r.p50_us)),
    p99us: median(ok.map((r) => r.p99_us)),
    socketErrors: ok.reduce((s, r) => s + r.socketErrors, 0),
    non2xx: ok.reduce((s, r) => s + r.non2xx, 0),
    cpuUsPerReq: median(ok.map((r) => r.cpuUsPerReq)),
    splitPct: splitTotal ? split.map((x) => (x / splitTotal) * 100) : [],
    otherCoresMax: Math.max(0, ...ok.map((r) => r.otherCores)),
  };
}

/**
 * How Roundguard's CPU per request splits: the floor row (node:http + undici and nothing else) is what its
 * transport costs, the rest is what Roundguard does on top; both as multiples of nginx's when it ran.
 */
function floorLine(records, workload) {
  const rg = aggregate(records, 'roundguard', workload);
  const floor = aggregate(records, 'floor', workload);
  const nginx = aggregate(records, 'nginx', workload);
  if (!rg.ok || !floor.ok) return '';
  const added = rg.cpuUsPerReq - floor.cpuUsPerReq;
  const vsNginx = nginx.ok
    ? `; in multiples of nginx's CPU per request, the floor is ${ratio(floor.cpuUsPerReq, nginx.cpuUsPerReq)}x and Roundguard ${ratio(rg.cpuUsPerReq, nginx.cpuUsPerReq)}x`
    : '';
  return (
    `\nroundguard / floor by CPU: **${ratio(rg.cpuUsPerReq, floor.cpuUsPerReq)}** ` +
    `(${fixed(rg.cpuUsPerReq, 1)} against ${fixed(floor.cpuUsPerReq, 1)} us/req: Roundguard's own work ` +
    `${added >= 0 ? '+' : ''}${fixed(added, 1)} us/req)${vsNginx}.`
  );
}

function errorsCell(a) {
  if (!a.socketErrors && !a.non2xx) return '0';
  return [a.socketErrors && `${a.socketErrors} socket`, a.non2xx && `${a.non2xx} non-2xx`]
    .filter(Boolean)
    .join(', ');
}

/** One workload table for the candidates of one group; ratios are to `directName` and `nginxName` rows. */
function workloadTable(records, cands, wl, { directName, nginxName }) {
  const lines = [
    '| candidate | req/s | x direct | x nginx | p50 ms | p99 ms | errors | CPU us/req | x nginx CPU | split % | req/s by round | other load |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|---:|',
  ];
  const direct = directName ? aggregate(records, directName, wl.name) : null;
  const nginx = nginxName ? aggregate(records, nginxName, wl.name) : null;
  for (const c of cands) {
    const a = aggregate(records, c.name, wl.name);
    if (!a.ok) {
      lines.push(
        `| ${c.name} | FAILED: ${(a.failures[0] ?? 'not run').replace(/\|/g, '/').slice(0, 120)} |||||||||||`,
      );
      continue;
    }
    const name = a.ok < a.runs ? `${c.name} (${a.runs - a.ok} round(s) failed)` : c.name;
    const split = c.kind === 'proxy' ? a.splitPct.map((p) => p.toFixed(1)).join(' / ') : '-';
    lines.push(
      `| ${name} | ${int(a.rps)} | ${ratio(a.rps, direct?.rps)} | ${ratio(a.rps, nginx?.rps)} | ${ms(a.p50us)} | ${ms(a.p99us)} | ` +
        `${errorsCell(a)} | ${fixed(a.cpuUsPerReq, 1)} | ${ratio(a.cpuUsPerReq, nginx?.cpuUsPerReq)} | ${split} | ` +
        `${a.rpsByRound.map(int).join(' / ')} | ${fixed(a.otherCoresMax, 2)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * @param {object} o
 * @param {object[]} o.records   raw run records
 * @param {object[]} o.candidates
 * @param {object[]} o.workloads [{ name, desc, connections, seconds }]
 * @param {object} o.meta        machine, versions, options, pinning, checks, skipped, elapsed
 */
export function renderReport({ records, candidates, workloads, meta }) {
  const out = [];
  const v = meta.versions;
  let pinText = meta.pinned
    ? 'wrk pinned to CPU 0; proxy / server and the 3 backends pinned to CPU 1 (taskset)'
    : `no pinning (${meta.pinNote})`;
  if (meta.pinned && candidates.some((c) => c.group === 'unpinned'))
    pinText += '; the *-nopin rows: nothing pinned';
  const warmRuns =
    meta.warmupS === meta.warmupMaxS
      ? `${meta.warmupS} run${meta.warmupS > 1 ? 's' : ''} of 1 s of the 100 B load`
      : `${meta.warmupS} to ${meta.warmupMaxS} runs of 1 s of the 100 B load (stopping once the last 3 agree within 10 %)`;
  out.push(`## Roundguard bench, ${meta.started}`, '');
  out.push(
    `- command: \`${meta.command}\`; ${meta.rounds} round(s), order reversed every other round; wall ${meta.elapsedS.toFixed(0)} s`,
  );
  out.push(
    `- machine: ${v.cores} x ${v.cpu}, Linux ${v.kernel}; node ${v.node}; ${v.wrk ?? 'wrk ?'}; ${v.nginx ?? 'no nginx'}; ${v.haproxy ?? 'no haproxy'}; roundguard ${v.commit ?? '?'}`,
  );
  out.push(`- pinning: ${pinText}`);
  out.push(
    `- load: wrk 1 thread, --timeout 5s. Warm-up after each start, not recorded: ${warmRuns}` +
      (meta.warmupLargeS
        ? `, then ${meta.warmupLargeS} s of the 64 KiB load`
        : ' (no 64 KiB warm-up with --quick)'),
  );

  const groups = [
    { id: 'pinned', title: '', directName: 'direct', nginxName: 'nginx' },
    {
      id: 'unpinned',
      title: ' — unpinned (--workers-scaling): nothing pinned; x nginx is to nginx-w2-nopin',
      directName: null,
      nginxName: 'nginx-w2-nopin',
    },
  ];
  for (const wl of workloads) {
    for (const g of groups) {
      const cands = candidates.filter(
        (c) => c.group === g.id && c.kind !== 'server' && c.workloads.includes(wl.name),
      );
      if (!cands.length) continue;
      const has = (n) => n && cands.some((c) => c.name === n);
      out.push(
        '',
        `### ${wl.name}: ${wl.desc}, ${wl.connections} connections, ${wl.seconds} s x ${meta.rounds} round(s)${g.title}`,
        '',
      );
      out.push(
        workloadTable(records, cands, wl, {
          directName: has(g.directName) ? g.directName : null,
          nginxName: has(g.nginxName) ? g.nginxName : null,
        }),
      );
      if (g.id === 'pinned' && has('roundguard') && has('floor')) out.push(floorLine(records, wl.name));
    }
  }

  const servers = candidates.filter((c) => c.kind === 'server');
  if (servers.length) {
    const wl = workloads.find((w) => w.name === 'small');
    out.push(
      '',
      `### echo app vs bare node:http: ${wl.desc}, ${wl.connections} connections, ${wl.seconds} s x ${meta.rounds} round(s), same pinning`,
      '',
    );
    out.push(
      '| server | req/s | p50 ms | p99 ms | errors | CPU us/req | req/s by round | other load |',
      '|---|---:|---:|---:|---|---:|---|---:|',
    );
    const agg = {};
    for (const c of servers) {
      const a = (agg[c.name] = aggregate(records, c.name, 'small'));
      if (!a.ok) {
        out.push(
          `| ${c.name} | FAILED: ${(a.failures[0] ?? 'not run').replace(/\|/g, '/').slice(0, 120)} |||||||`,
        );
        continue;
      }
      out.push(
        `| ${c.name} | ${int(a.rps)} | ${ms(a.p50us)} | ${ms(a.p99us)} | ${errorsCell(a)} | ${fixed(a.cpuUsPerReq, 1)} | ${a.rpsByRound.map(int).join(' / ')} | ${fixed(a.otherCoresMax, 2)} |`,
      );
    }
    if (agg.echo?.ok && agg.bare?.ok) {
      const r = agg.echo.rps / agg.bare.rps;
      // Per-round ratios: echo and bare run next to each other in every round.
      const perRound = [];
      for (let round = 1; round <= meta.rounds; round++) {
        const e = records.find((x) => x.candidate === 'echo' && x.round === round && !x.failed);
        const b = records.find((x) => x.candidate === 'bare' && x.round === round && !x.failed);
        if (e && b) perRound.push((e.rps / b.rps).toFixed(2));
      }
      out.push(
        '',
        `**echo / bare = ${r.toFixed(2)}** (req/s; goal >= 0.85: ${r >= 0.85 ? 'met' : 'NOT met'}); per round: ${perRound.join(', ')}`,
      );
      // Both are CPU-bound on one core, so the inverse ratio of CPU per request predicts the req/s ratio, and
      // it is much less sensitive to other processes stealing that core during a run.
      const byCpu = agg.bare.cpuUsPerReq / agg.echo.cpuUsPerReq;
      out.push(
        '',
        `echo / bare by CPU (bare CPU us/req ÷ echo CPU us/req, less sensitive to other load): ${fixed(byCpu, 2)}`,
      );
    }
  }

  out.push('', '**Notes**', '');
  out.push(
    '- req/s, p50, p99 and CPU us/req are medians over the rounds. x direct / x nginx: req/s relative to that row ' +
      '(higher is better); x nginx CPU: CPU us/req relative to nginx (lower is better).',
    "- CPU us/req: utime + stime of the proxy's (or server's) whole process tree (master and workers), read from " +
      '/proc/PID/stat before and after the measured run, divided by the requests wrk completed. Backends not included.',
    '- errors: wrk socket errors (connect, read, write, timeout) plus every non-2xx response (counted by wrk.lua).',
    '- split: share of the POSTs each backend counted during the measured runs (exact round robin: 33.3 / 33.3 / 33.3). ' +
      'direct runs on backend 1 alone, so its req/s is that of one node:http backend with a whole core.',
    '- other load: CPU cores busy with work that is not ours (not wrk, the backends, the candidate or this script), ' +
      'highest over the rounds, from /proc/stat; above ~0.2 the row was disturbed by other processes on the machine.',
    '- wrk does not correct for coordinated omission: p99 is the latency of the requests sent, at the rate the server allowed.',
  );
  if (meta.options?.quick) {
    out.push(
      '- --quick is a smoke test: after 1 s of warm-up the Node candidates (Roundguard, echo, bare, the backends) ' +
        'are not at their JIT steady state yet, so their figures are pessimistic; use the default run for numbers.',
    );
  }
  if (candidates.some((c) => c.group === 'pinned' && c.name.startsWith('roundguard'))) {
    out.push(
      '- Roundguard rows run as the container image runs the proxy, `node --max-semi-space-size=2` (a 2 MiB young ' +
        'generation; the primary of --workers N passes it to its workers); roundguard-default-gc runs the same ' +
        "build with Node's default young generation.",
    );
  }
  if (candidates.some((c) => c.name === 'floor')) {
    out.push(
      "- floor: node:http + undici Pool with the proxy's Pool options, round robin and nothing else (no validation, " +
        "header rules, request id, health checks, metrics or access log), started with Roundguard's Node.js options: " +
        "what Roundguard's transport costs at least.",
    );
  }
  if (candidates.some((c) => c.name === 'roundguard-w2')) {
    out.push(
      '- roundguard-w2 is pinned like every other row, so its 2 workers share CPU 1 with the backends: it shows what ' +
        'the cluster costs, not how it scales. `--workers-scaling` adds unpinned rows for that.',
    );
  }
  if (candidates.some((c) => c.group === 'unpinned')) {
    out.push(
      '- Unpinned rows: wrk, the backends and the proxy float over both cores and compete with each other, so these ' +
        'numbers depend on the scheduler; compare them only with each other.',
    );
  }
  out.push(
    `- correctness check (100 B and 64 KiB echo byte-identical with a JSON content type; 30 sequential requests on one keep-alive connection split 10/10/10): ${meta.checks}`,
  );
  if (meta.skipped.length) out.push(`- skipped: ${meta.skipped.join('; ')}`);
  out.push(`- ${meta.noise}`);
  return out.join('\n');
}

export { median };
