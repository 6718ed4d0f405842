import type { Claim } from '../../graph/graph-index.ts';
import type { Asset } from '../../graph/types.ts';

/** How messages name an asset: its kind and name, e.g. `meter M-2`. */
export function label(asset: Pick<Asset, 'kind' | 'name'>): string {
  return `${asset.kind} ${asset.name}`;
}

/**
 * Who holds a claim, phrased for a message. A still-deployed claim says why it counts even
 * though the desired configuration moved on: the device keeps using the old value until it
 * acknowledges the new one.
 */
export function claimHolder(claim: Claim): string {
  if (claim.source === 'deployed') {
    const version = claim.asset.deployed?.version;
    return `still deployed on ${label(claim.asset)} (version ${version}) until its device acknowledges the new configuration`;
  }
  return `already used by ${label(claim.asset)}`;
}
