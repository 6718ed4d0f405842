import type { GraphIndex } from '../../graph/graph-index.ts';
import type { Asset, SiteGraph } from '../../graph/types.ts';
import type { RuleContext } from '../types.ts';
import { numberOf } from './io-config.ts';

/**
 * The gateway side of the hierarchy for the polling rules: which gateway polls an asset, what
 * it polls, and how often. Parent chains are walked with a guard, because a cycle in bad data
 * must not hang validation (parent-kind-allowed refuses such data on its own).
 */

/** The gateway that polls `asset` in `graph`: itself, or the gateway at the top of its parent chain. */
export function gatewayOf(graph: SiteGraph, asset: Asset): Asset | undefined {
  return upChain(graph, asset, (a) => a.kind === 'gateway');
}

/**
 * The first asset from `start` up its parent chain in `graph` for which `found` holds; undefined
 * when the chain ends, or goes round a cycle, first. The cycle is found by Brent's method, with
 * no set of the assets seen: an asset of a cycle may be asked about more than once, so `found`
 * must give the same answer each time.
 */
function upChain(graph: SiteGraph, start: Asset, found: (asset: Asset) => boolean): Asset | undefined {
  let current: Asset | undefined = start;
  let mark = start;
  let steps = 0;
  let stretch = 1;
  while (current) {
    if (found(current)) return current;
    current = current.parentId === null ? undefined : graph.assets.get(current.parentId);
    if (current === mark) return undefined; // round a cycle
    if (++steps === stretch) {
      mark = current as Asset;
      steps = 0;
      stretch *= 2;
    }
  }
  return undefined;
}

/** Every asset below `rootId` in the candidate (desired placement), parents before children. */
export function descendants(index: GraphIndex, rootId: string): Asset[] {
  const out: Asset[] = [];
  const seen = new Set<string>([rootId]);
  // `out` is the queue too: the children of out[next] are read next, in the order they were found.
  for (let next = -1; next < out.length; next++) {
    for (const child of index.children(next < 0 ? rootId : out[next].id)) {
      if (seen.has(child.id)) continue;
      seen.add(child.id);
      out.push(child);
    }
  }
  return out;
}

export interface GatewayReach {
  /** The gateway as it stands in the candidate. */
  gateway: Asset;
  /** Touched assets that reach it (now or before the change), the gateway itself included if touched. */
  via: string[];
}

/**
 * Gateways a change reaches: the gateway over every touched asset in the candidate, and the one
 * it hung under before the change (it moved, or it was deleted). Gateways deleted by the change
 * are left out: nothing is polled by a gateway that no longer exists.
 */
export function gatewaysReached(ctx: RuleContext): GatewayReach[] {
  const out = new Map<string, GatewayReach>();
  const reach = (gateway: Asset | undefined, id: string) => {
    const now = gateway && ctx.candidate.assets.get(gateway.id);
    if (!now) return;
    const entry = out.get(now.id) ?? { gateway: now, via: [] };
    if (!entry.via.includes(id)) entry.via.push(id);
    out.set(now.id, entry);
  };
  for (const id of ctx.touched.assets) {
    const now = ctx.candidate.assets.get(id);
    const was = ctx.before.assets.get(id);
    if (now) reach(gatewayOf(ctx.candidate, now), id);
    if (was) reach(gatewayOf(ctx.before, was), id);
  }
  return [...out.values()];
}

/**
 * How often the gateway polls `asset`, in ms: its own `pollIntervalMs`; otherwise that of the
 * device it is read through (a wired sensor is read with its controller); otherwise the
 * gateway's configured default; otherwise the model's shortest interval.
 */
export function pollIntervalOf(ctx: RuleContext, asset: Asset, gateway: Asset): number {
  // The first asset up the chain with an interval of its own, not above the gateway.
  const polled = upChain(ctx.candidate, asset, (a) => own(a) !== undefined || a.id === gateway.id);
  const interval = polled && own(polled);
  if (interval !== undefined) return interval;
  const fallback = own(gateway);
  if (fallback !== undefined) return fallback;
  return ctx.catalog.get(gateway.modelId)?.gateway?.minPollIntervalMs ?? 1000;
}

/** An asset's own `pollIntervalMs`, when it has a positive one. */
function own(asset: Asset): number | undefined {
  const interval = numberOf(asset.config.pollIntervalMs);
  return interval !== undefined && interval > 0 ? interval : undefined;
}

/** `Nexa Systems GW-200` for messages, or the model id when the catalog does not know it. */
export function modelName(ctx: RuleContext, modelId: string): string {
  const model = ctx.catalog.get(modelId);
  return model ? `${model.vendor} ${model.model}` : modelId;
}
