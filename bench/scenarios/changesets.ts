import type { Api } from '../lib/http.ts';
import { closedLoop, type LoopOptions } from '../lib/closed-loop.ts';
import { nextOffset, type WriteTarget } from '../lib/fleet.ts';
import type { RunStats } from '../lib/stats.ts';
import { perWorker } from './targets.ts';

export const CHANGESET_OPERATIONS = 20;

/** Groups of `size` sensors of one site: one change set each. */
export function changesetGroups(targets: WriteTarget[], size = CHANGESET_OPERATIONS): WriteTarget[][] {
  const bySite = new Map<string, WriteTarget[]>();
  for (const t of targets) bySite.set(t.siteId, [...(bySite.get(t.siteId) ?? []), t]);
  return [...bySite.values()].filter((g) => g.length >= size).map((g) => g.slice(0, size));
}

/** (3) Change sets of 20 `updateAsset` operations on one site, validated and applied together. */
export async function runChangesets(api: Api, groups: WriteTarget[][], loop: LoopOptions, seed: number): Promise<RunStats> {
  const next = perWorker(groups, loop.concurrency, seed);
  return closedLoop(loop, async (w) => {
    const group = next(w);
    const offsets = group.map((t) => nextOffset(t.calibrationOffset));
    const res = await api.request<{ changes: Array<{ entityId: string; after: { version: number } | null }> }>('POST', `/v1/sites/${group[0].siteId}/changesets`, {
      comment: 'bench: 20 calibration offsets',
      operations: group.map((t, i) => ({ op: 'updateAsset', id: t.id, expectedVersion: t.version, patch: { config: { calibrationOffset: offsets[i] } } })),
    });
    if (res.status !== 201) return false;
    const versions = new Map(res.body.changes.map((c) => [c.entityId, c.after?.version]));
    group.forEach((t, i) => {
      t.version = versions.get(t.id) ?? t.version;
      t.calibrationOffset = offsets[i];
    });
    // Every operation must have changed its asset: a no-op operation writes nothing.
    return res.body.changes.length === group.length;
  });
}
