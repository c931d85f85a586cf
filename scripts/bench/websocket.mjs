// The WebSocket workload of `pnpm bench`: messages per second and CPU per message through Roundguard
// against the same clients talking to the backend directly, in one run. One `ws` echo backend; the
// load generator (ws-load.mjs) keeps a window of small messages in flight on each of its connections.
// The proxy only relays the tunnels' bytes, so this measures the relay's cost per message; the load
// generator is a Node process too, and is often the limit: its CPU share is reported.
import path from 'node:path';
import { freePort, startGroup, stopGroup, treeCpuSeconds, waitForHttp } from './procs.mjs';

const CONNECTIONS = 50;
const WINDOW = 4;
const SIZE = 128;

/** Runs the load generator once; resolves with its JSON line. */
async function load({ benchDir, port, seconds, cpus, taskset, tmp }) {
  const entry = startGroup(
    'ws-load',
    process.execPath,
    [path.join(benchDir, 'ws-load.mjs'), ...[port, CONNECTIONS, WINDOW, SIZE, seconds].map(String)],
    { cpus, tasksetPath: taskset, stdout: 'pipe', stderr: path.join(tmp, 'logs', 'ws-load.log') },
  );
  let out = '';
  entry.child.stdout.setEncoding('utf8').on('data', (t) => (out += t));
  await entry.done;
  if (entry.code !== 0) throw new Error(`ws-load exited with code ${entry.code}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * @returns {{ rows: object[], markdown: string }} one row per target and round, and the report section.
 */
export async function runWebSocketBench({
  root,
  benchDir,
  tools,
  cpusFor,
  rounds,
  seconds,
  warmupS,
  tmp,
  log,
}) {
  const backendPort = await freePort();
  const backend = startGroup(
    'ws-backend',
    process.execPath,
    [path.join(benchDir, 'ws-backend.mjs'), String(backendPort)],
    {
      cpus: cpusFor('server'),
      tasksetPath: tools.taskset,
      stdout: path.join(tmp, 'logs', 'ws-backend.log'),
      stderr: path.join(tmp, 'logs', 'ws-backend.log'),
    },
  );
  const rows = [];
  try {
    await waitForHttp(backendPort, '/health', backend, 15);
    for (let round = 1; round <= rounds; round++) {
      const targets = round % 2 === 1 ? ['direct', 'roundguard'] : ['roundguard', 'direct'];
      for (const target of targets) {
        let proxy = null;
        let port = backendPort;
        if (target === 'roundguard') {
          port = await freePort();
          proxy = startGroup(
            'roundguard-ws',
            process.execPath,
            [
              path.join(root, 'apps/proxy/dist/main.js'),
              ...['--host', '127.0.0.1', '--port', String(port), '--admin-port', String(await freePort())],
              ...[
                '--log-format',
                'json',
                '--log-level',
                'info',
                '--upstream',
                `http://127.0.0.1:${backendPort}`,
              ],
            ],
            {
              cpus: cpusFor('server'),
              tasksetPath: tools.taskset,
              stdout: '/dev/null',
              stderr: path.join(tmp, 'logs', `roundguard-ws-r${round}.log`),
            },
          );
          await waitForHttp(port, '/health', proxy, 20);
        }
        try {
          const run = (s) =>
            load({ benchDir, port, seconds: s, cpus: cpusFor('loadgen'), taskset: tools.taskset, tmp });
          await run(warmupS);
          const proxy0 = proxy ? treeCpuSeconds(proxy.pid) : 0;
          const backend0 = treeCpuSeconds(backend.pid);
          const r = await run(seconds);
          const proxyCpuS = proxy ? treeCpuSeconds(proxy.pid) - proxy0 : null;
          const backendCpuS = treeCpuSeconds(backend.pid) - backend0;
          const row = {
            round,
            target,
            messages: r.messages,
            msgPerS: r.messages / r.seconds,
            errors: r.errors,
            proxyCpuUsPerMsg: proxyCpuS === null ? null : (proxyCpuS * 1e6) / r.messages,
            backendCpuUsPerMsg: (backendCpuS * 1e6) / r.messages,
            loadgenCores: r.cpuS / r.seconds,
          };
          rows.push(row);
          log(
            `  websocket ${target.padEnd(10)} ${Math.round(row.msgPerS).toString().padStart(7)} msg/s  ` +
              `proxy CPU ${row.proxyCpuUsPerMsg === null ? '-' : row.proxyCpuUsPerMsg.toFixed(1)} us/msg  ` +
              `load generator ${row.loadgenCores.toFixed(2)} cores  errors ${row.errors}`,
          );
        } finally {
          if (proxy) await stopGroup(proxy);
        }
      }
    }
  } finally {
    await stopGroup(backend);
  }
  return { rows, markdown: renderWebSocket(rows, seconds) };
}

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function renderWebSocket(rows, seconds) {
  const lines = [
    '## WebSocket',
    '',
    `${CONNECTIONS} tunnels, ${WINDOW} messages of ${SIZE} B in flight on each (echoed), ${seconds} s per run; ` +
      "median over rounds. CPU per message is the proxy's own (process tree), per echoed message (two frames " +
      'through the proxy).',
    '',
    '| target | msg/s | proxy CPU µs/msg | backend CPU µs/msg | load generator cores | errors |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const target of ['direct', 'roundguard']) {
    const rs = rows.filter((r) => r.target === target);
    if (rs.length === 0) continue;
    const proxyCpu = target === 'direct' ? '-' : med(rs.map((r) => r.proxyCpuUsPerMsg)).toFixed(1);
    lines.push(
      `| ${target} | ${Math.round(med(rs.map((r) => r.msgPerS)))} | ${proxyCpu} | ` +
        `${med(rs.map((r) => r.backendCpuUsPerMsg)).toFixed(1)} | ${med(rs.map((r) => r.loadgenCores)).toFixed(2)} | ` +
        `${rs.reduce((s, r) => s + r.errors, 0)} |`,
    );
  }
  return lines.join('\n');
}
