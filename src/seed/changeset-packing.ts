import type { Operation } from '../core/changes/operations.ts';
import type { ChangesetBody, PlannedUnit } from './plan-types.ts';

/** Operations per change set: large enough to amortise a round trip, small enough to review. */
export const DEFAULT_MAX_OPERATIONS = 200;

/** A unit's operations: its assets (parent first), then its cables. */
export function unitOperations(unit: PlannedUnit): Operation[] {
  return [
    ...unit.assets.map((asset): Operation => ({ op: 'createAsset', asset: { ...asset } })),
    ...unit.cables.map((c): Operation => ({ op: 'connect', connection: { id: c.id, a: c.a, b: c.b, label: c.label, lengthM: c.lengthM } })),
  ];
}

/**
 * Packs units, in order, into change sets of at most `maxOperations` operations without ever
 * splitting a unit (a controller's loops need its sensors in the same change set). Because
 * units come parents first, every change set refers only to assets it creates or that an
 * earlier one created.
 *
 * @example
 *   packChangesets(units, 200, 'S0001'); // [{ operations: [...], comment: 'rema seed: site S0001, part 1 of 1' }]
 */
export function packChangesets(units: PlannedUnit[], maxOperations: number, siteCode: string): ChangesetBody[] {
  const batches: Operation[][] = [];
  let current: Operation[] = [];
  for (const unit of units) {
    const ops = unitOperations(unit);
    if (current.length > 0 && current.length + ops.length > maxOperations) {
      batches.push(current);
      current = [];
    }
    current.push(...ops);
  }
  if (current.length > 0) batches.push(current);
  return batches.map((operations, i) => ({ operations, comment: `rema seed: site ${siteCode}, part ${i + 1} of ${batches.length}` }));
}
