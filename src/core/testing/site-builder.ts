import { randomUUID } from 'node:crypto';
import { builtinCatalog } from '../catalog/catalog.ts';
import { defaultConfig } from '../catalog/default-config.ts';
import type { AssetKind } from '../catalog/types.ts';
import { samePlacement } from '../changes/apply-operations.ts';
import { GraphIndex } from '../graph/graph-index.ts';
import type { Asset, AssetStatus, ConfigDoc, SiteGraph } from '../graph/types.ts';
import type { RuleContext } from '../rules/types.ts';

export interface AssetOptions {
  model?: string;
  name?: string;
  serial?: string | null;
  status?: AssetStatus;
  firmware?: string | null;
  /** Merged over the model's default configuration (objects merged one level deep). */
  config?: ConfigDoc;
  /** Mark the current configuration as deployed on the device. */
  deployed?: boolean;
}

const DEFAULT_MODEL: Record<AssetKind, string> = {
  gateway: 'nexa-gw-200',
  controller: 'kelvo-dc-8',
  meter: 'voltis-em-340',
  sensor: 'thermia-tt-420',
};

/**
 * Builds site graphs for rule tests.
 *
 * @example
 *   const b = new SiteBuilder();
 *   const gw = b.gateway();
 *   const m = b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
 *   const ctx = b.change((g) => { g.assets.get(m)!.config.unitId = 6; }, [m]);
 */
export class SiteBuilder {
  readonly graph: MutableSiteGraph;
  private counter = 0;

  constructor(network = { subnet: '10.20.0.0/24', router: '10.20.0.1' }) {
    this.graph = {
      site: { id: randomUUID(), orgId: randomUUID(), code: 'TST-1', name: 'Test site', timezone: 'UTC', network, revision: 1, version: 1 },
      assets: new Map(),
      connections: new Map(),
    };
  }

  add(kind: AssetKind, parentId: string | null, port: string | null, opts: AssetOptions = {}): string {
    const model = builtinCatalog().get(opts.model ?? DEFAULT_MODEL[kind]);
    if (!model) throw new Error(`unknown model ${opts.model}`);
    const id = randomUUID();
    const n = ++this.counter;
    const name = opts.name ?? `${kind}-${n}`;
    const config = mergeConfig(defaultConfig(model, { name, unitId: n, ip: kind === 'gateway' ? `10.20.0.${10 + n}` : undefined }), opts.config);
    const asset: Asset = {
      id,
      siteId: this.graph.site.id,
      kind,
      modelId: model.id,
      name,
      serial: opts.serial === undefined ? `SN-${id.slice(0, 8)}` : opts.serial,
      status: opts.status ?? 'active',
      firmware: opts.firmware === undefined ? model.firmware[model.firmware.length - 1] : opts.firmware,
      parentId,
      port,
      config,
      version: 1,
      configVersion: 1,
      deployed: null,
    };
    if (opts.deployed) asset.deployed = { version: 1, parentId, port, config: structuredClone(config) };
    this.graph.assets.set(id, asset);
    return id;
  }

  gateway(opts?: AssetOptions) {
    return this.add('gateway', null, null, opts);
  }
  controller(parentId: string, port: string | null, opts?: AssetOptions) {
    return this.add('controller', parentId, port, opts);
  }
  meter(parentId: string, port: string | null, opts?: AssetOptions) {
    return this.add('meter', parentId, port, opts);
  }
  sensor(parentId: string, port: string | null, opts?: AssetOptions) {
    return this.add('sensor', parentId, port, opts);
  }

  cable(a: [string, string], b: [string, string], lengthM = 10, label: string | null = null): string {
    const id = randomUUID();
    this.graph.connections.set(id, {
      id,
      siteId: this.graph.site.id,
      a: { assetId: a[0], port: a[1] },
      b: { assetId: b[0], port: b[1] },
      label,
      lengthM,
      version: 1,
    });
    return id;
  }

  asset(id: string): Asset {
    const a = this.graph.assets.get(id);
    if (!a) throw new Error(`no asset ${id}`);
    return a;
  }

  /**
   * The rule context of a change: clones the current graph, lets `mutate` change the clone
   * into the candidate, and marks `touchedAssets`/`touchedConnections` as changed. A touched
   * asset whose desired configuration changed gets a new configVersion (so a deployed claim
   * on its old version stays visible), as the write path does.
   */
  change(
    mutate: (candidate: MutableSiteGraph) => void,
    touchedAssets: string[],
    touchedConnections: string[] = [],
    fleet: Map<string, string> = new Map(),
  ): RuleContext {
    const before = cloneGraph(this.graph);
    const candidate = cloneGraph(this.graph);
    mutate(candidate);
    for (const id of touchedAssets) {
      const now = candidate.assets.get(id);
      const was = before.assets.get(id);
      if (now && was && !samePlacement(now, was)) {
        now.configVersion = was.configVersion + 1;
      }
    }
    const removed = new Map([...before.assets].filter(([id]) => !candidate.assets.has(id)));
    return {
      candidate,
      index: new GraphIndex(candidate),
      before,
      touched: { assets: new Set(touchedAssets), connections: new Set(touchedConnections) },
      removed,
      catalog: builtinCatalog(),
      fleet: { serialOwners: fleet },
    };
  }

  /** The context of "validate everything as it stands" (as `rema validate --all` does). */
  whole(): RuleContext {
    return this.change(() => {}, [...this.graph.assets.keys()], [...this.graph.connections.keys()]);
  }
}

/** A site graph a test may change in place (the write path never does: see SiteGraph). */
export type MutableSiteGraph = SiteGraph & { assets: Map<string, Asset> };

export function cloneGraph(g: SiteGraph): MutableSiteGraph {
  return structuredClone({ ...g, assets: new Map(g.assets) });
}

function mergeConfig(base: ConfigDoc, over: ConfigDoc | undefined): ConfigDoc {
  if (!over) return base;
  const out: ConfigDoc = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] = isObject(b) && isObject(v) ? { ...b, ...v } : v;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
