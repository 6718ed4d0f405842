import type { AssetStatus } from '../core/graph/types.ts';
import type { Rng } from './prng.ts';

/** Most equipment is in service; a few devices are planned (installed, not yet commissioned). */
export function assetStatus(rng: Rng): AssetStatus {
  return rng.chance(0.07) ? 'planned' : 'active';
}
