// The candidates of `pnpm bench`: what is started, how, and what it is measured on.
//
//   kind 'direct'  no process: wrk straight at backend 1 (one backend, so no split)
//   kind 'proxy'   a round-robin proxy over the 3 backends (Roundguard, the floor of its transport, nginx,
//                  HAProxy)
//   kind 'server'  an echo server measured alone, for the echo-app row (echo app vs bare node:http)
//
// group 'pinned' (every default row): wrk on CPU 0, the candidate and the backends on CPU 1.
// group 'unpinned' (--workers-scaling only): nothing is pinned, so 2 workers can use both cores, but then
// they compete with wrk and the backends; compared with each other and with nginx-w2-nopin only.
import fs from 'node:fs';
import path from 'node:path';
import { HOST } from './procs.mjs';

/** All known names, in run order; `--only` takes any of these. */
export const KNOWN = [
  'direct',
  'roundguard',
  'roundguard-baseline',
  'roundguard-default-gc',
  'floor',
  'roundguard-w2',
  'nginx',
  'haproxy',
  'echo',
  'bare',
  'roundguard-nopin',
  'roundguard-w2-nopin',
  'nginx-w2-nopin',
];

const fill = (tmpl, vars) => tmpl.replace(/\{\{(\w+)\}\}/g, (_, k) => String(vars[k]));

/**
 * @param {object} env
 * @param {string} env.root            repo root
 * @param {string} env.benchDir        scripts/bench
 * @param {{nginx: string|null, haproxy: string|null}} env.tools
 * @param {boolean} env.rgWorkers      whether the proxy has --workers
 * @param {boolean} env.workersScaling --workers-scaling given
 * @param {string[]|null} env.only     --only list, or null
 * @param {boolean} env.quick          --quick given
 * @param {string|null} env.baseline   --baseline DIR: another checkout whose built proxy is measured too
 * @returns {{ candidates: object[], skipped: string[] }}
 */
export function buildCandidates({
  root,
  benchDir,
  tools,
  rgWorkers,
  workersScaling,
  only,
  quick,
  baseline = null,
}) {
  const proxyMain = (checkout) => path.join(checkout, 'apps/proxy/dist/main.js');
  const echoMain = path.join(root, 'apps/echo/dist/main.js');
  // The same baseline the echo app's own benchmark uses.
  const bareEchoMain = path.join(root, 'apps/echo/bench/bare-echo.mjs');
  const both = ['small', 'large'];

  // As the container image runs it (deploy/Dockerfile): with a 2 MiB young generation, which the
  // primary of --workers N passes to its workers itself; `roundguard-default-gc` runs without it.
  const roundguard = (name, workers, group, checkout = root, nodeOptions = ['--max-semi-space-size=2']) => ({
    name,
    kind: 'proxy',
    group,
    workloads: both,
    describe: `Roundguard${checkout === root ? '' : ` built in ${checkout}`}, ${workers} worker${workers > 1 ? 's (node:cluster)' : ''}, json access log at info to /dev/null, node ${nodeOptions.length ? nodeOptions.join(' ') : "(Node's default young generation)"}`,
    // stdout carries the access log: /dev/null, as a production setup would ship it to a collector.
    launch: ({ port, adminPort, backendPorts }) => ({
      cmd: process.execPath,
      args: [
        ...nodeOptions,
        proxyMain(checkout),
        ...['--host', HOST, '--port', String(port), '--admin-port', String(adminPort)],
        ...['--log-format', 'json', '--log-level', 'info'],
        ...backendPorts.flatMap((p) => ['--upstream', `http://${HOST}:${p}`]),
        ...(workers > 1 ? ['--workers', String(workers)] : []),
      ],
      stdout: '/dev/null',
    }),
  });

  const nginx = (name, workers, group) => ({
    name,
    kind: 'proxy',
    group,
    workloads: both,
    describe: `nginx worker_processes ${workers}, upstream keepalive 64, access_log off`,
    launch: ({ port, dir, backendPorts }) => {
      for (const t of ['client-body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
        fs.mkdirSync(path.join(dir, `tmp-${t}`), { recursive: true });
      }
      const conf = fill(fs.readFileSync(path.join(benchDir, 'nginx.conf.tmpl'), 'utf8'), {
        WORKERS: workers,
        DIR: dir,
        PORT: port,
        SERVERS: backendPorts.map((p) => `    server ${HOST}:${p};`).join('\n'),
      });
      fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
      // -e: error log before the config is read (else nginx tries /var/log/nginx/error.log first).
      return {
        cmd: tools.nginx,
        args: ['-e', path.join(dir, 'error.log'), '-p', dir, '-c', path.join(dir, 'nginx.conf')],
      };
    },
  });

  const haproxy = (name, threads, group) => ({
    name,
    kind: 'proxy',
    group,
    workloads: both,
    describe: `HAProxy nbthread ${threads}, balance roundrobin, http-reuse always`,
    launch: ({ port, dir, backendPorts }) => {
      const cfg = fill(fs.readFileSync(path.join(benchDir, 'haproxy.cfg.tmpl'), 'utf8'), {
        THREADS: threads,
        PORT: port,
        SERVERS: backendPorts.map((p, i) => `  server b${i + 1} ${HOST}:${p}`).join('\n'),
      });
      fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
      return { cmd: tools.haproxy, args: ['-db', '-f', path.join(dir, 'haproxy.cfg')] }; // -db: foreground
    },
  });

  const all = {
    direct: {
      name: 'direct',
      kind: 'direct',
      group: 'pinned',
      workloads: both,
      describe: 'no proxy: wrk straight at backend 1 (a single backend)',
    },
    roundguard: roundguard('roundguard', 1, 'pinned'),
    'roundguard-baseline': roundguard('roundguard-baseline', 1, 'pinned', baseline ?? root),
    'roundguard-default-gc': roundguard('roundguard-default-gc', 1, 'pinned', root, []),
    floor: {
      name: 'floor',
      kind: 'proxy',
      group: 'pinned',
      workloads: both,
      describe:
        'node:http + undici Pool and nothing else (scripts/bench/floor-proxy.mjs): what the transport costs',
      launch: ({ port, backendPorts }) => ({
        cmd: process.execPath,
        args: [
          // The same Node.js options as the Roundguard rows, so that only the code differs.
          '--max-semi-space-size=2',
          path.join(benchDir, 'floor-proxy.mjs'),
          ...['--host', HOST, '--port', String(port)],
          ...backendPorts.flatMap((p) => ['--upstream', `http://${HOST}:${p}`]),
        ],
      }),
    },
    'roundguard-w2': roundguard('roundguard-w2', 2, 'pinned'),
    nginx: nginx('nginx', 1, 'pinned'),
    haproxy: haproxy('haproxy', 1, 'pinned'),
    echo: {
      name: 'echo',
      kind: 'server',
      group: 'pinned',
      workloads: ['small'],
      describe: 'apps/echo/dist/main.js, json logs at info to /dev/null',
      launch: ({ port }) => ({
        cmd: process.execPath,
        args: [
          echoMain,
          '--host',
          HOST,
          '--port',
          String(port),
          '--log-format',
          'json',
          '--log-level',
          'info',
        ],
        stdout: '/dev/null',
      }),
    },
    bare: {
      name: 'bare',
      kind: 'server',
      group: 'pinned',
      workloads: ['small'],
      describe: 'bare node:http echo, no checks (apps/echo/bench/bare-echo.mjs)',
      launch: ({ port }) => ({
        cmd: process.execPath,
        args: [bareEchoMain, String(port)],
      }),
    },
    'roundguard-nopin': roundguard('roundguard-nopin', 1, 'unpinned'),
    'roundguard-w2-nopin': roundguard('roundguard-w2-nopin', 2, 'unpinned'),
    'nginx-w2-nopin': nginx('nginx-w2-nopin', 2, 'unpinned'),
  };

  // Which names run, and why the others do not.
  const skipped = [];
  let names =
    only ??
    KNOWN.filter(
      (n) => (workersScaling || all[n].group === 'pinned') && (n !== 'roundguard-baseline' || baseline),
    );
  names = names.filter((n) => {
    const why =
      // --quick must stay under a minute (with `pnpm build` before it): the cluster row is left out.
      (n === 'roundguard-w2' && quick && !only && !workersScaling && 'left out by --quick') ||
      (n.startsWith('nginx') && !tools.nginx && 'nginx is not installed (apt-get install nginx-light)') ||
      (n === 'roundguard-baseline' && !baseline && 'no --baseline DIR given') ||
      (n === 'haproxy' && !tools.haproxy && 'haproxy is not installed (apt-get install haproxy)') ||
      (n.includes('-w2') && n.startsWith('roundguard') && !rgWorkers && 'the proxy has no --workers option');
    if (why) skipped.push(`${n}: ${why}`);
    return !why;
  });
  return { candidates: KNOWN.filter((n) => names.includes(n)).map((n) => all[n]), skipped };
}
