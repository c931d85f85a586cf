// Runs wrk once (1 thread, --latency, --timeout 5s, scripts/bench/wrk.lua) and parses the WRKJSON line
// that the Lua script prints in done(). wrk runs in its own process group, pinned when `cpus` is given,
// and is SIGKILLed if it overruns its duration by 15 s.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, selfAndReapedChildrenCpuSeconds, startGroup, stopGroup } from './procs.mjs';

const LUA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk.lua');

/**
 * @param {object} o
 * @param {string} o.wrkPath        absolute path of wrk
 * @param {number} o.port           target port on 127.0.0.1
 * @param {string} o.urlPath        request path
 * @param {string|null} o.bodyFile  file POSTed as application/json; null for GET
 * @param {number} o.connections
 * @param {number} o.seconds        whole seconds (wrk does not take fractions)
 * @param {string|null} o.cpus      taskset CPU list for wrk, or null
 * @param {string|null} o.tasksetPath
 * @returns {Promise<object>} the WRKJSON record plus `rps`, `wrkCpuS` (wrk's CPU seconds) and `cmdline`
 */
export async function runWrk({ wrkPath, port, urlPath, bodyFile, connections, seconds, cpus, tasksetPath }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', LUA];
  args.push(`http://${HOST}:${port}${urlPath}`);
  const cpu0 = selfAndReapedChildrenCpuSeconds().children;
  const entry = startGroup('wrk', wrkPath, args, {
    cpus,
    tasksetPath,
    stdout: 'pipe',
    stderr: 'pipe',
    // WRK_COUNT_NON2XX: count every non-2xx status (wrk alone counts only >= 400); costs ~10 % wrk CPU.
    env: { ...process.env, WRK_BODY_FILE: bodyFile ?? '', WRK_COUNT_NON2XX: '1' },
  });
  let out = '';
  entry.child.stdout.on('data', (d) => (out += d));
  entry.child.stderr.on('data', (d) => (out += d));
  const overrun = setTimeout(() => void stopGroup(entry, 0), (seconds + 15) * 1000);
  await entry.done;
  clearTimeout(overrun);
  await stopGroup(entry, 0); // wrk has exited: this only drops it from the tracked groups
  const wrkCpuS = selfAndReapedChildrenCpuSeconds().children - cpu0;
  const m = /WRKJSON (\{.*\})/.exec(out);
  if (entry.code !== 0 || !m) {
    throw new Error(`wrk failed (code ${entry.code}, signal ${entry.signal}): ${out.trim().slice(-300)}`);
  }
  const r = JSON.parse(m[1]);
  return { ...r, rps: r.requests / (r.duration_us / 1e6), wrkCpuS, cmdline: entry.cmdline.join(' ') };
}
