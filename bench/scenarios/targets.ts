import type { WriteTarget } from '../lib/fleet.ts';
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

/**
 * One write to each site of `targets` (its first target there), `concurrency` at a time: what a
 * side of the comparison does before its measured run of writes, so that it starts holding every
 * site, as one instance does in service — not from the state the other side's run left, where
 * each site was written by someone else and the first write there takes the lock and reads the
 * site. `write` resolves false (or throws) for a write that did not land; more than 1 % of them
 * fails the run, since the measured run would then start from sites not held.
 */
export async function primeSites(targets: readonly WriteTarget[], concurrency: number, write: (t: WriteTarget) => Promise<boolean | void>): Promise<void> {
  const first = new Map<string, WriteTarget>();
  for (const t of targets) if (!first.has(t.siteId)) first.set(t.siteId, t);
  const queue = [...first.values()];
  let failed = 0;
  let lastError: unknown;
  const worker = async () => {
    for (let t = queue.pop(); t; t = queue.pop()) {
      try {
        if ((await write(t)) === false) failed++;
      } catch (err) {
        failed++;
        lastError = err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (failed > first.size / 100) throw new Error(`priming: ${failed} of ${first.size} sites were not written${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}
