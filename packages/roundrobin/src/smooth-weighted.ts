/**
 * nginx's smooth weighted round robin, one step at a time (`ngx_http_upstream_get_peer`).
 *
 * On each pick, every entry's current weight grows by its weight; the entry with the highest current
 * weight wins (the first one on a tie); the winner's current weight drops by the total weight.
 * Entries with weight 0 are never picked. Mutates `current`; returns the winner's index, or -1 when the
 * total weight is 0.
 */
export function smoothWeightedStep(weights: ArrayLike<number>, current: Float64Array, total: number): number {
  let best = -1;
  let bestWeight = -Infinity;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w === 0) continue;
    const c = (current[i] as number) + w;
    current[i] = c;
    if (c > bestWeight) {
      bestWeight = c;
      best = i;
    }
  }
  if (best >= 0) current[best] = (current[best] as number) - total;
  return best;
}

/** Greatest common divisor of non-negative integers (0 for an empty or all-zero list). */
export function gcdOf(weights: ArrayLike<number>): number {
  let g = 0;
  for (let i = 0; i < weights.length; i++) {
    let a = weights[i] as number;
    let b = g;
    while (b !== 0) [a, b] = [b, a % b];
    g = a;
  }
  return g;
}

/**
 * One full cycle of the smooth weighted sequence, as entry indices. Scaling every weight by the same
 * factor does not change the sequence, so the cycle has `sum(weights) / gcd(weights)` picks, after which
 * every current weight is back at 0 and the sequence repeats.
 */
export function smoothWeightedSchedule(weights: ArrayLike<number>): Uint32Array {
  const g = gcdOf(weights);
  if (g === 0) return new Uint32Array(0);
  const reduced = Array.from(weights, (w) => w / g);
  let total = 0;
  for (const w of reduced) total += w;
  const current = new Float64Array(reduced.length);
  const schedule = new Uint32Array(total);
  for (let t = 0; t < total; t++) schedule[t] = smoothWeightedStep(reduced, current, total);
  return schedule;
}
