#!/usr/bin/env node
// Entry point: resolves the options (exit 2 on a bad one, 0 after --help) and starts the process' role:
// one process that does everything (single-process.ts), or with `--workers N` (N > 1) a cluster primary
// that probes and serves the admin endpoints (cluster-primary.ts) and N workers that forward
// (cluster-worker.ts).
import cluster from 'node:cluster';
import { runPrimary } from './cluster-primary.js';
import { runWorker } from './cluster-worker.js';
import { HelpRequested, OptionsError, resolveConfig, type ProxyConfig } from './options.js';
import { runSingle } from './single-process.js';

function loadConfig(): ProxyConfig {
  try {
    return resolveConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    if (err instanceof OptionsError) {
      process.stderr.write(`roundguard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const config = loadConfig();
if (config.workers > 1 && cluster.isPrimary) void runPrimary(config);
else if (cluster.isWorker) void runWorker(config);
else void runSingle(config);
