// Requests/s of the built echo server against a bare node:http echo server, measured with wrk in the same
// run: a 100-byte JSON POST, `wrk -t1 -c50 -d5s`, interleaved rounds. Goal: echo >= 85% of bare.
//
//   pnpm --filter echo bench            (builds, then runs this)
//   node bench/echo-vs-bare.mjs [--rounds N] [--duration 5s] [--connections 50] [--slices N | --parallel]
//                               [--bare-batched]
//
// echo runs as shipped (json access log at info, metrics on), its stdout going to /dev/null.
//
// By default each round loads echo, then bare (bare first in even rounds), one wrk at a time. On a machine
// shared with other work the load moves between runs and so does the ratio. Two ways to even that out:
// --slices N splits each server's run into N shorter wrk runs, alternating echo and bare (same total time);
// --parallel loads both servers at once (two wrk processes), so both see the same conditions (the ratio
// is then lower than sequentially: each server also competes with the other and both wrk for the CPUs).
//
// --bare-batched runs the bare echo with --batched: writing its responses at the end of the loop turn as echo
// does, so the ratio is what echo's checks, log and metrics cost.
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { freePort, sleep } from '@roundguard/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '..', 'dist', 'main.js');
const lua = join(here, 'post-100.lua');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5s' },
    connections: { type: 'string', default: '50' },
    wrk: { type: 'string', default: 'wrk' },
    parallel: { type: 'boolean', default: false },
    slices: { type: 'string', default: '1' },
    'bare-batched': { type: 'boolean', default: false },
  },
});

const run = promisify(execFile);

async function hasWrk() {
  try {
    await run(values.wrk, ['--version']);
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return err.code !== 'ENOENT';
  }
}

async function waitUntilUp(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const up = await new Promise((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (up) return;
    await sleep(25);
  }
  throw new Error(`nothing listening on ${port}`);
}

async function start(kind) {
  const port = await freePort();
  const devNull = openSync('/dev/null', 'w');
  const args =
    kind === 'echo'
      ? [main, '--port', String(port), '--log-format', 'json', '--log-level', 'info']
      : [join(here, 'bare-echo.mjs'), ...(values['bare-batched'] ? ['--batched'] : []), String(port)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', devNull, 'inherit'] });
  await waitUntilUp(port, child);
  return { port, child };
}

function stop(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

async function wrk(port, duration) {
  const { stdout } = await run(values.wrk, [
    '-t1',
    `-c${values.connections}`,
    `-d${duration}`,
    '-s',
    lua,
    `http://127.0.0.1:${port}/bench`,
  ]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(stdout)?.[0];
  if (!(rps > 0)) throw new Error(`could not read wrk's output:\n${stdout}`);
  if (non2xx > 0) throw new Error(`${non2xx} responses were not 2xx:\n${stdout}`);
  return { rps, requests, seconds: requests / rps, errors };
}

/** Runs `slices` wrk runs per server, alternating, and sums them up per server. */
async function sliced(first, slices, seconds) {
  const totals = {
    echo: { requests: 0, seconds: 0, errors: undefined },
    bare: { requests: 0, seconds: 0, errors: undefined },
  };
  for (let slice = 0; slice < slices; slice++) {
    const order = (slice % 2 === 0) === (first === 'echo') ? ['echo', 'bare'] : ['bare', 'echo'];
    for (const kind of order) {
      const r = await wrk(servers[kind].port, `${seconds / slices}s`);
      totals[kind].requests += r.requests;
      totals[kind].seconds += r.seconds;
      totals[kind].errors ??= r.errors;
    }
  }
  const result = {};
  for (const kind of ['echo', 'bare']) {
    const t = totals[kind];
    result[kind] = { rps: t.requests / t.seconds, errors: t.errors };
  }
  return result;
}

if (!existsSync(main)) {
  console.error(`echo is not built (${main} is missing): run \`pnpm --filter "echo..." build\` first`);
  process.exit(1);
}
if (!(await hasWrk())) {
  console.log(
    'wrk is not installed: skipping the echo-vs-bare benchmark (apt install wrk, or pass --wrk PATH)',
  );
  process.exit(0);
}

const rounds = Number(values.rounds);
const slices = Number(values.slices);
const seconds = Number(/^(\d+)s$/.exec(values.duration)?.[1]);
if (!(seconds > 0) || !(slices >= 1) || seconds % slices !== 0) {
  console.error(
    `--duration must be whole seconds (e.g. 5s), divisible by --slices; got ${values.duration}, ${values.slices}`,
  );
  process.exit(2);
}
const results = { echo: [], bare: [] };
const ratios = [];
const servers = { echo: await start('echo'), bare: await start('bare') };
try {
  // Warm up both (JIT, connection setup) before measuring.
  for (const kind of ['echo', 'bare']) await wrk(servers[kind].port, '2s');
  for (let round = 1; round <= rounds; round++) {
    const measured = {};
    if (values.parallel) {
      const [echo, bare] = await Promise.all(
        ['echo', 'bare'].map((kind) => wrk(servers[kind].port, values.duration)),
      );
      Object.assign(measured, { echo, bare });
    } else {
      Object.assign(measured, await sliced(round % 2 === 1 ? 'echo' : 'bare', slices, seconds));
    }
    for (const kind of ['echo', 'bare']) {
      const { rps, errors } = measured[kind];
      results[kind].push(rps);
      console.log(
        `round ${round} ${kind.padEnd(4)} ${rps.toFixed(0).padStart(8)} req/s${errors ? `  (${errors})` : ''}`,
      );
    }
    ratios.push(measured.echo.rps / measured.bare.rps);
  }
} finally {
  await Promise.all([stop(servers.echo), stop(servers.bare)]);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const echoRps = mean(results.echo);
const bareRps = mean(results.bare);
const ratio = echoRps / bareRps;
console.log(
  `\necho ${echoRps.toFixed(0)} req/s, bare ${bareRps.toFixed(0)} req/s, ratio ${pct(ratio)} (goal >= 85%; ` +
    `per round: ${ratios.map(pct).join(', ')}) — 100-byte JSON POST, wrk -t1 -c${values.connections} ` +
    `-d${values.duration}, ${rounds} ${values.parallel ? 'parallel' : 'interleaved'} rounds` +
    `${!values.parallel && slices > 1 ? ` of ${slices} slices` : ''}` +
    `${values['bare-batched'] ? ', bare writing at the end of the loop turn' : ''}, node ${process.version}`,
);
