import type { Rng } from './prng.ts';

/** Spread of site sizes around the mean: a log-normal, clamped so no site is a toy or a giant. */
const SIGMA = 0.45;
const MIN_SHARE = 0.4;
const MAX_SHARE = 1.8;

/**
 * Splits `total` assets over `sites` sites unevenly, the way real estates are uneven: most
 * sites near the mean, some small, a few large (for 25,000 over 500: about 20–90 each). The
 * counts sum to exactly `total` and every site gets at least one asset (its gateway).
 *
 * @example
 *   distributeAssets(createRng(1), 3, 150); // e.g. [41, 63, 46]
 */
export function distributeAssets(rng: Rng, sites: number, total: number): number[] {
  if (sites === 0) {
    if (total > 0) throw new Error(`cannot place ${total} assets in 0 sites`);
    return [];
  }
  if (total < sites) throw new Error(`${total} assets cannot fill ${sites} sites: every site needs at least its gateway`);
  const weights = Array.from({ length: sites }, () => Math.min(MAX_SHARE, Math.max(MIN_SHARE, Math.exp(SIGMA * rng.normal()))));
  const scale = total / weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => w * scale);
  const counts = exact.map((x) => Math.max(1, Math.floor(x)));
  let diff = total - counts.reduce((a, b) => a + b, 0);
  // Hand out what flooring left over by largest remainder; take back from the largest sites.
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; diff > 0; k = (k + 1) % sites, diff--) counts[byRemainder[k].i]++;
  while (diff < 0) {
    const largest = counts.indexOf(Math.max(...counts));
    counts[largest]--;
    diff++;
  }
  return counts;
}
