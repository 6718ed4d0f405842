import { createHash } from 'node:crypto';

/**
 * A number in [0, 1) fixed by `seed` and `parts`: the same message, redelivered or replayed
 * after a reconnect, gets the same verdict, and a seeded run is reproducible whatever order
 * the broker delivers in.
 *
 * @example
 *   draw(42, deploymentId, assetId) < failureRate // reject this one
 */
export function draw(seed: number, ...parts: string[]): number {
  const digest = createHash('sha256').update([String(seed), ...parts].join('\u0000')).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
