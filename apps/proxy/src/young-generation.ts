// The size of V8's young generation for the processes that forward. Node.js reads each socket into a new
// buffer of up to 64 KiB outside the JavaScript heap, and frees it only when a scavenge (young-generation
// collection) collects its small wrapper. With Node's default semi-space (16 MiB), scavenges come so
// rarely under a large-body load that hundreds of MiB of such buffers wait for them, and V8 falls back to
// full mark-compact collections on external memory pressure: 14 to 70 per 10,000 requests of 64 KiB,
// and the slower half of that workload's runs. A 2 MiB semi-space scavenges every few dozen requests,
// frees the buffers on time and removes those mark-compacts (0 to 2 per 10,000); small requests moved by
// -1 %, +3 % and +7 % in three paired runs (docs/performance-log.md). It can only be set when a process starts: the container
// image and `pnpm start` pass it to the proxy, and a cluster primary passes it to its workers.

/** The Node.js option the forwarding processes run with, unless the user sized the young generation. */
export const SEMI_SPACE_OPTION = '--max-semi-space-size=2';

/** Node.js / V8 options that size the young generation (either spelling of V8's `_` / `-`). */
const SIZES_YOUNG_GENERATION =
  /^--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]size|max[-_]young[-_]generation[-_]size|min[-_]semi[-_]space[-_]size)(=|$)/;

/** Whether one of `options` (an execArgv, or NODE_OPTIONS split on spaces) sizes the young generation. */
export function sizesYoungGeneration(options: readonly string[]): boolean {
  return options.some((o) => SIZES_YOUNG_GENERATION.test(o));
}

/**
 * The execArgv of a cluster worker: the primary's own, plus {@link SEMI_SPACE_OPTION} unless the primary's
 * options or NODE_OPTIONS (which the workers inherit) already size the young generation.
 */
export function workerExecArgv(
  primaryExecArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const fromEnv = (nodeOptions ?? '').split(/\s+/).filter((o) => o !== '');
  if (sizesYoungGeneration(primaryExecArgv) || sizesYoungGeneration(fromEnv)) return [...primaryExecArgv];
  return [...primaryExecArgv, SEMI_SPACE_OPTION];
}
