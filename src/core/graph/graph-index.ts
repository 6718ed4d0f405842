import { ChangedMap } from './changed-map.ts';
import type { Asset, AssetPlacement, Connection, SiteGraph } from './types.ts';

/**
 * A claim on a physical resource: where an asset sits and how it is configured, either as
 * desired (its latest version) or as still deployed on its device (an older version the
 * device has not yet replaced). Rules on unit ids, IPs and channels look at both.
 */
export interface Claim extends AssetPlacement {
  asset: Asset;
  source: 'desired' | 'deployed';
}

/**
 * A key assets are looked up by in {@link GraphIndex.withKey}: one constant per kind of key, as
 * the index keeps a map for each. `keyOf` must give the same key for the same asset object
 * every time (undefined: the asset has none).
 */
export interface AssetKeying<K> {
  readonly keyOf: (asset: Asset) => K | undefined;
}

/**
 * Lookups over one site graph: children, claims on ports, cables, assets by a key.
 *
 * Built whole from a graph (`new GraphIndex(graph)`), or, for a change, from the index of the
 * graph it was applied to ({@link indexAfter}): a change that keeps every touched asset where it
 * was (a configuration write, a device's acknowledgement) costs what it touches, not the size of
 * the site. Either way every lookup answers the same lists in the same order.
 *
 * @example
 *   const index = new GraphIndex(graph);
 *   index.claimsOnPort(gatewayId, 'rs485-1'); // every desired and still-deployed claim on that bus
 */
export class GraphIndex {
  private readonly childrenOf: ReadonlyMap<string, Asset[]>;
  /** Parent id → port → claims. Nested rather than keyed by one joined string, which would be made and hashed anew for every claim in every validation. */
  private readonly portClaims: ReadonlyMap<string, Map<string, Claim[]>>;
  private readonly cablesOf: Map<string, Connection[]>;
  /** Assets by a key rules look them up by (see {@link withKey}), made on first use. */
  private readonly keyed = new Map<AssetKeying<unknown>, ReadonlyMap<unknown, Asset[]>>();

  constructor(
    readonly graph: SiteGraph,
    from?: { childrenOf: ReadonlyMap<string, Asset[]>; portClaims: ReadonlyMap<string, Map<string, Claim[]>>; cablesOf: Map<string, Connection[]> },
  ) {
    if (from) {
      this.childrenOf = from.childrenOf;
      this.portClaims = from.portClaims;
      this.cablesOf = from.cablesOf;
      return;
    }
    const childrenOf = new Map<string, Asset[]>();
    const portClaims = new Map<string, Map<string, Claim[]>>();
    const cablesOf = new Map<string, Connection[]>();
    for (const asset of graph.assets.values()) {
      if (asset.parentId) push(childrenOf, asset.parentId, asset);
      for (const claim of claimsOf(asset)) {
        if (!claim.parentId || !claim.port) continue;
        let ports = portClaims.get(claim.parentId);
        if (!ports) portClaims.set(claim.parentId, (ports = new Map()));
        push(ports, claim.port, claim);
      }
    }
    for (const c of graph.connections.values()) {
      push(cablesOf, c.a.assetId, c);
      if (c.b.assetId !== c.a.assetId) push(cablesOf, c.b.assetId, c);
    }
    this.childrenOf = childrenOf;
    this.portClaims = portClaims;
    this.cablesOf = cablesOf;
  }

  /**
   * The index of `candidate`, a copy of `base.graph` in which only the assets of `touched` are
   * other objects — or undefined when the change moved, created or deleted an asset, or changed
   * a cable: then the lists' order is the graph's, which only a whole build gives.
   */
  static derive(base: GraphIndex, candidate: SiteGraph, touched: ReadonlySet<string>): GraphIndex | undefined {
    const before = base.graph;
    if (candidate.connections !== before.connections || candidate.assets.size !== before.assets.size) return undefined;
    const children = new Map<string, Asset[]>();
    const ports = new Map<string, Map<string, Claim[]>>();
    for (const id of touched) {
      const was = before.assets.get(id);
      const now = candidate.assets.get(id);
      if (!was || !now || was.parentId !== now.parentId) return undefined;
      if (was === now) continue;
      if (was.parentId && !replaceIn(children, base.childrenOf, was.parentId, was, now)) return undefined;
      const old = claimsOf(was).filter((c) => c.parentId && c.port);
      const fresh = claimsOf(now).filter((c) => c.parentId && c.port);
      // A claim on a port the asset did not claim before would take its place by the asset's
      // position in the site, which only a whole build knows.
      if (!fresh.every((c) => old.some((o) => o.parentId === c.parentId && o.port === c.port))) return undefined;
      for (const o of old) {
        const parentId = o.parentId as string;
        const port = o.port as string;
        let own = ports.get(parentId);
        if (!own) {
          const theirs = base.portClaims.get(parentId);
          if (!theirs) return undefined;
          ports.set(parentId, (own = new Map(theirs)));
        }
        const list = own.get(port);
        if (!list) return undefined;
        // The asset's claims on a port are next to each other (desired, then deployed): its new ones take their place.
        const replaced: Claim[] = [];
        let placed = false;
        for (const c of list) {
          if (c.asset !== was) replaced.push(c);
          else if (!placed) {
            placed = true;
            for (const f of fresh) if (f.parentId === parentId && f.port === port) replaced.push(f);
          }
        }
        if (!placed) return undefined;
        own.set(port, replaced);
      }
    }
    const index = new GraphIndex(candidate, { childrenOf: withChanges(base.childrenOf, children), portClaims: withChanges(base.portClaims, ports), cablesOf: base.cablesOf });
    for (const [keying, byKey] of base.keyed) {
      const own = deriveKeyed(keying, byKey, before, candidate, touched);
      if (own) index.keyed.set(keying, own);
    }
    return index;
  }

  /**
   * Every desired and still-deployed claim of the site, in the order of its assets. Made anew on
   * each call, not kept: few changes need it, and an index lives as long as its site is held.
   */
  get claims(): readonly Claim[] {
    const all: Claim[] = [];
    for (const asset of this.graph.assets.values()) all.push(...claimsOf(asset));
    return all;
  }

  /**
   * The assets of the site whose `keying` key is `key`, in the order of the site's assets: for
   * rules that look for assets sharing a touched asset's name or serial, without a pass over
   * the site on every write.
   */
  withKey<K>(keying: AssetKeying<K>, key: K): readonly Asset[] {
    let byKey = this.keyed.get(keying);
    if (!byKey) {
      const made = new Map<unknown, Asset[]>();
      for (const asset of this.graph.assets.values()) {
        const k = keying.keyOf(asset);
        if (k !== undefined) push(made, k, asset);
      }
      this.keyed.set(keying, (byKey = made));
    }
    return byKey.get(key) ?? [];
  }

  /** Direct children of an asset (desired placement). */
  children(parentId: string): Asset[] {
    return this.childrenOf.get(parentId) ?? [];
  }

  /** Assets whose desired placement is on `port` of `parentId`. */
  onPort(parentId: string, port: string): Asset[] {
    return this.claimsOnPort(parentId, port)
      .filter((c) => c.source === 'desired')
      .map((c) => c.asset);
  }

  /** Desired and still-deployed claims on `port` of `parentId`. */
  claimsOnPort(parentId: string, port: string): Claim[] {
    return this.portClaims.get(parentId)?.get(port) ?? [];
  }

  /** Cables with an end on the asset (optionally on one of its ports). */
  connectionsOf(assetId: string, port?: string): Connection[] {
    const all = this.cablesOf.get(assetId) ?? [];
    if (port === undefined) return all;
    return all.filter(
      (c) => (c.a.assetId === assetId && c.a.port === port) || (c.b.assetId === assetId && c.b.port === port),
    );
  }

  asset(id: string | null): Asset | undefined {
    return id === null ? undefined : this.graph.assets.get(id);
  }
}

/** `before` with `changes` replacing entries, sharing `before` instead of copying it (see {@link ChangedMap}). */
function withChanges<K, V>(before: ReadonlyMap<K, V>, changes: Map<K, V>): ReadonlyMap<K, V> {
  if (changes.size === 0) return before;
  const map = new ChangedMap(before);
  for (const [key, value] of changes) map.set(key, value);
  return map;
}

/** In `changes` (over `from`), the list at `key` with `was` replaced by `now`; false when `was` is not in it. */
function replaceIn<K, T>(changes: Map<K, T[]>, from: ReadonlyMap<K, T[]>, key: K, was: T, now: T): boolean {
  const own = changes.get(key);
  const list = own ?? from.get(key);
  const at = list ? list.indexOf(was) : -1;
  if (!list || at < 0) return false;
  const mine = own ?? [...list];
  mine[at] = now;
  changes.set(key, mine);
  return true;
}

/** `byKey` of the graph before a change, for `candidate`: the touched assets in their places; undefined when one's key changed. */
function deriveKeyed<K>(keying: AssetKeying<K>, byKey: ReadonlyMap<K, Asset[]>, before: SiteGraph, candidate: SiteGraph, touched: ReadonlySet<string>) {
  const changes = new Map<K, Asset[]>();
  for (const id of touched) {
    const was = before.assets.get(id) as Asset;
    const now = candidate.assets.get(id) as Asset;
    const key = keying.keyOf(was);
    if (key !== keying.keyOf(now)) return undefined;
    if (key !== undefined && was !== now && !replaceIn(changes, byKey, key, was, now)) return undefined;
  }
  return withChanges(byKey, changes);
}

/** The index made for each graph by {@link indexAfter}, kept while the graph is (a site's copy held by the write path). */
const indexes = new WeakMap<SiteGraph, GraphIndex>();

/**
 * The index of `candidate`, the result of a change to `before` that touched the assets
 * `touched`: derived from `before`'s index when one was made here and the change allows
 * ({@link GraphIndex.derive}), otherwise built whole. Kept beside `candidate` for the change
 * after it. Neither graph may be changed afterwards (the write path never changes a graph it
 * has validated: a change makes a new one).
 */
export function indexAfter(candidate: SiteGraph, before: SiteGraph, touched: ReadonlySet<string>): GraphIndex {
  const known = indexes.get(candidate);
  if (known) return known;
  const base = indexes.get(before);
  const index = (base && GraphIndex.derive(base, candidate, touched)) ?? new GraphIndex(candidate);
  indexes.set(candidate, index);
  return index;
}

/** An asset's claims: its desired placement, and its deployed one while the device has not acknowledged the desired version. */
function claimsOf(asset: Asset): Claim[] {
  const desired: Claim = { asset, source: 'desired', parentId: asset.parentId, port: asset.port, config: asset.config };
  const d = asset.deployed;
  if (!d || d.version === asset.configVersion) return [desired];
  return [desired, { asset, source: 'deployed', parentId: d.parentId, port: d.port, config: d.config }];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
