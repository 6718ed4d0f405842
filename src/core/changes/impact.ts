import type { GraphIndex } from '../graph/graph-index.ts';
import type { SiteGraph } from '../graph/types.ts';

/**
 * Assets a change may affect beyond the ones it touches: the parent of each touched asset,
 * its children, the other devices on its bus and the assets at the far end of its cables —
 * before and after the change.
 */
export function impactedAssets(touched: Set<string>, before: SiteGraph, candidate: SiteGraph, index: GraphIndex): string[] {
  const out = new Set<string>();
  for (const id of touched) {
    for (const graph of [before, candidate]) {
      const a = graph.assets.get(id);
      if (!a) continue;
      if (a.parentId) {
        out.add(a.parentId);
        if (a.port) for (const sibling of index.onPort(a.parentId, a.port)) out.add(sibling.id);
      }
    }
    for (const child of index.children(id)) out.add(child.id);
    for (const c of index.connectionsOf(id)) out.add(c.a.assetId === id ? c.b.assetId : c.a.assetId);
  }
  for (const id of touched) out.delete(id);
  return [...out].filter((id) => candidate.assets.has(id) || before.assets.has(id));
}
