import { shuffled } from '../lib/stats.ts';

/**
 * Hands each of `concurrency` workers its own slice of `items` (shuffled with `seed`), cycled
 * in order: no two workers ever change one asset at once, and the floor and rema get the same
 * sequence for the same seed.
 */
export function perWorker<T>(items: readonly T[], concurrency: number, seed: number): (worker: number) => T {
  const order = shuffled(items, seed);
  const slices = Array.from({ length: concurrency }, (_, w) => order.filter((_, i) => i % concurrency === w));
  const cursor = new Array<number>(concurrency).fill(0);
  return (w) => {
    const slice = slices[w];
    if (slice.length === 0) throw new Error(`worker ${w} has nothing to work on (${items.length} items for ${concurrency} workers)`);
    return slice[cursor[w]++ % slice.length];
  };
}
