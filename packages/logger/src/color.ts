/** The parts of a destination stream that color detection looks at. */
interface MaybeTty {
  isTTY?: boolean;
  hasColors?: () => boolean;
}

/**
 * Whether pretty output is colored, in this order:
 * 1. the `color` option, when given;
 * 2. `FORCE_COLOR`, when set: `''`, `1`, `2`, `3` or `true` turn colors on, any other value (`0`,
 *    `false`) turns them off (Node.js' own reading of it);
 * 3. `NO_COLOR`, when set to a non-empty value, turns them off (https://no-color.org);
 * 4. otherwise colors are on when the destination is a TTY that supports them (`TERM=dumb` does not).
 */
export function resolveColor(
  option: boolean | undefined,
  destination: unknown,
  env: NodeJS.ProcessEnv,
): boolean {
  if (option !== undefined) return option;
  const force = env.FORCE_COLOR;
  if (force !== undefined)
    return force === '' || force === '1' || force === '2' || force === '3' || force === 'true';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const tty = destination as MaybeTty;
  if (tty.isTTY !== true) return false;
  return typeof tty.hasColors === 'function' ? tty.hasColors() : env.TERM !== 'dumb';
}

/** Whether `auto` format picks pretty for this destination. */
export function isTty(destination: unknown): boolean {
  return (destination as MaybeTty).isTTY === true;
}
