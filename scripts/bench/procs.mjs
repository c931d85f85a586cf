// Process plumbing for `pnpm bench`: start commands in their own process groups (optionally pinned to
// CPUs with taskset), stop them by process-group id, read CPU time from /proc, and small HTTP helpers.
// Every process started here is tracked, and killAllSync() ends whatever is still running, so an
// interrupted bench never leaves nginx, haproxy, node or wrk behind. Nothing is ever killed by name.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, request, sleep } from '@roundguard/testkit';

export { freePort };

export const HOST = '127.0.0.1';

/** Clock ticks per second of the utime/stime fields of /proc/PID/stat (USER_HZ, normally 100). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Absolute path of an executable, searching PATH and the sbin directories a non-root PATH may lack. */
export function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** First line of a command's output (stdout or stderr), for version strings; null if it cannot run. */
export function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  if (r.error) return null;
  return `${r.stdout}\n${r.stderr}`.trim().split('\n')[0] || null;
}

// ------------------------------------------------------------------------------------------ processes

/** pgid -> { name, pid, child, exited, code, signal, cmdline } of every group started and not yet reaped. */
const groups = new Map();

/**
 * Starts `cmd args` as the leader of a new process group (detached), pinned to `cpus` with taskset when
 * given (taskset execs the command, so the pid and pgid stay those of the real process).
 * stdout/stderr: a file path, '/dev/null', or 'pipe'.
 */
export function startGroup(
  name,
  cmd,
  args,
  { cpus = null, tasksetPath = null, stdout, stderr, env, cwd } = {},
) {
  const [file, argv] = cpus && tasksetPath ? [tasksetPath, ['-c', cpus, cmd, ...args]] : [cmd, args];
  const open = (target) => (target === 'pipe' ? 'pipe' : fs.openSync(target ?? '/dev/null', 'a'));
  const outFd = open(stdout);
  const errFd = open(stderr);
  const child = spawn(file, argv, { detached: true, stdio: ['ignore', outFd, errFd], env, cwd });
  for (const fd of [outFd, errFd]) if (typeof fd === 'number') fs.closeSync(fd);
  const entry = {
    name,
    pid: child.pid,
    child,
    exited: false,
    code: null,
    signal: null,
    cmdline: [file, ...argv],
  };
  // 'close' (not 'exit'): the exit status is known and piped output has been fully read.
  entry.done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      Object.assign(entry, { exited: true, code, signal });
      resolve();
    });
    child.on('error', (err) => {
      Object.assign(entry, { exited: true, code: -1, error: err.message });
      resolve();
    });
  });
  if (child.pid) groups.set(child.pid, entry);
  return entry;
}

/** Live (non-zombie) pids whose process group is `pgid`. */
function groupMembers(pgid) {
  const out = [];
  for (const p of listProcs()) if (p.pgrp === pgid && p.state !== 'Z') out.push(p.pid);
  return out;
}

/**
 * Stops a group: SIGTERM to the whole group, SIGKILL after `graceMs` if any member is still alive, and
 * waits until the leader has been reaped and no member is left.
 */
export async function stopGroup(entry, graceMs = 5000) {
  if (entry.exited && !groupMembers(entry.pid).length) {
    groups.delete(entry.pid); // nothing left to signal (and the pgid might be reused one day)
    return;
  }
  const signal = (sig) => {
    try {
      process.kill(-entry.pid, sig);
    } catch {
      // the group is already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((!entry.exited || groupMembers(entry.pid).length) && Date.now() < deadline) await sleep(50);
  if (!entry.exited || groupMembers(entry.pid).length) {
    signal('SIGKILL');
    await Promise.race([entry.done, sleep(2000)]);
    for (let i = 0; i < 40 && groupMembers(entry.pid).length; i++) await sleep(50);
  }
  groups.delete(entry.pid);
}

/** SIGKILL to every group still tracked; synchronous, so it can run in an 'exit' handler. */
export function killAllSync() {
  for (const pgid of groups.keys()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
}

/** Changes the CPU affinity of every thread of a running process (taskset -a -p). */
export function setAffinity(tasksetPath, pid, cpus) {
  const r = spawnSync(tasksetPath, ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr || r.error}`);
}

// ------------------------------------------------------------------------------------------ CPU time

/** Every process in /proc with its parent, process group and CPU ticks (utime + stime, all threads). */
export function listProcs() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try {
      s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // exited while we were scanning
    }
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.push({
      pid: Number(d),
      state: f[0],
      ppid: Number(f[1]),
      pgrp: Number(f[2]),
      ticks: Number(f[11]) + Number(f[12]),
    });
  }
  return out;
}

/**
 * CPU seconds used so far by the process tree of `rootPid`: the root, its descendants, and every member
 * of its process group (nginx/haproxy workers, node:cluster workers). Only live processes are counted,
 * which is exact as long as no member exits during a measurement.
 */
export function treeCpuSeconds(rootPid) {
  const procs = listProcs();
  const byParent = new Map();
  for (const p of procs) {
    if (!byParent.has(p.ppid)) byParent.set(p.ppid, []);
    byParent.get(p.ppid).push(p);
  }
  const seen = new Set();
  const stack = procs.filter((p) => p.pid === rootPid || p.pgrp === rootPid);
  let ticks = 0;
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    ticks += p.ticks;
    stack.push(...(byParent.get(p.pid) ?? []));
  }
  return ticks / CLK_TCK;
}

/**
 * CPU seconds of this process plus its reaped children (cutime + cstime). wrk is a direct child that is
 * reaped when it exits, so the difference around one wrk run is wrk's own CPU time.
 */
export function selfAndReapedChildrenCpuSeconds() {
  const s = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return {
    self: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    children: (Number(f[13]) + Number(f[14])) / CLK_TCK,
  };
}

/** Per-CPU tick counters from /proc/stat: busy = user + nice + system (irq, softirq, steal separately). */
export function cpuSnapshot() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      busy: user + nice + system,
      irq: irq + softirq,
      steal,
      total: user + nice + system + idle + iowait + irq + softirq + steal,
    };
  }
  return out;
}

/** Busy share per CPU between two snapshots, plus whole-machine busy/steal seconds. */
export function cpuDelta(a, b) {
  const perCpu = {};
  for (const k of Object.keys(b)) {
    if (k === 'cpu' || !a[k]) continue;
    const total = b[k].total - a[k].total || 1;
    perCpu[k] = (b[k].busy + b[k].irq - a[k].busy - a[k].irq) / total;
  }
  return {
    perCpu,
    busyS: (b.cpu.busy - a.cpu.busy) / CLK_TCK,
    irqS: (b.cpu.irq - a.cpu.irq) / CLK_TCK,
    stealS: (b.cpu.steal - a.cpu.steal) / CLK_TCK,
  };
}

// ------------------------------------------------------------------------------------------ network

/** One HTTP request to 127.0.0.1 (a body is sent as JSON); resolves { status, headers, body: Buffer }. */
export async function httpRequest({
  port,
  method = 'GET',
  path: urlPath = '/',
  body,
  agent = false,
  timeoutMs = 5000,
}) {
  const headers = body ? { 'content-type': 'application/json', 'content-length': body.length } : {};
  const res = await request(`http://${HOST}:${port}${urlPath}`, { method, headers, body, agent, timeoutMs });
  return { status: res.status, headers: res.headers, body: res.body };
}

/** Polls GET `urlPath` until it answers 200; fails early if the process exits. Returns seconds waited. */
export async function waitForHttp(port, urlPath, entry, timeoutS = 20) {
  const t0 = Date.now();
  let last = 'no answer';
  while (Date.now() - t0 < timeoutS * 1000) {
    if (entry?.exited) throw new Error(`exited during startup (code ${entry.code}, signal ${entry.signal})`);
    try {
      const r = await httpRequest({ port, path: urlPath, timeoutMs: 1000 });
      if (r.status === 200) return (Date.now() - t0) / 1000;
      last = `status ${r.status}`;
    } catch (err) {
      last = err.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`GET ${urlPath} on port ${port} did not answer 200 within ${timeoutS} s (last: ${last})`);
}
