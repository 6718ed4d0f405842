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
 * Lookups over one site graph, built once per validation.
 *
 * @example
 *   const index = new GraphIndex(graph);
 *   index.claimsOnPort(gatewayId, 'rs485-1'); // every desired and still-deployed claim on that bus
 */
export class GraphIndex {
  private readonly childrenOf = new Map<string, Asset[]>();
  /** Parent id → port → claims. Nested rather than keyed by one joined string, which would be made and hashed anew for every claim in every validation. */
  private readonly portClaims = new Map<string, Map<string, Claim[]>>();
  private readonly cablesOf = new Map<string, Connection[]>();
  readonly claims: Claim[] = [];

  constructor(readonly graph: SiteGraph) {
    for (const asset of graph.assets.values()) {
      if (asset.parentId) push(this.childrenOf, asset.parentId, asset);
      this.addClaim({ asset, source: 'desired', parentId: asset.parentId, port: asset.port, config: asset.config });
      const d = asset.deployed;
      if (d && d.version !== asset.configVersion) {
        this.addClaim({ asset, source: 'deployed', parentId: d.parentId, port: d.port, config: d.config });
      }
    }
    for (const c of graph.connections.values()) {
      push(this.cablesOf, c.a.assetId, c);
      if (c.b.assetId !== c.a.assetId) push(this.cablesOf, c.b.assetId, c);
    }
  }

  private addClaim(claim: Claim) {
    this.claims.push(claim);
    if (!claim.parentId || !claim.port) return;
    let ports = this.portClaims.get(claim.parentId);
    if (!ports) this.portClaims.set(claim.parentId, (ports = new Map()));
    push(ports, claim.port, claim);
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

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
