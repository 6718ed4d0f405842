import type { Catalog } from '../catalog/catalog.ts';
import { defaultConfig } from '../catalog/default-config.ts';
import { ChangedMap } from '../graph/changed-map.ts';
import type { Asset, AssetPlacement, Connection, SiteGraph } from '../graph/types.ts';
import { mergePatch } from './merge-patch.ts';
import { sameJson } from './same-json.ts';
import { networkProblem } from './network.ts';
import { timezoneProblem } from './timezone.ts';
import type { Operation } from './operations.ts';
import { OperationError } from './operation-error.ts';
import { assetView, connectionView, siteView, type EntityView } from './views.ts';
import { newId as timeOrderedId } from '../ids.ts';

export interface EntityChange {
  entityType: 'asset' | 'connection' | 'site';
  entityId: string;
  action: 'create' | 'update' | 'delete';
  before: EntityView | null;
  after: EntityView | null;
}

export interface AppliedChange {
  candidate: SiteGraph;
  touched: { assets: Set<string>; connections: Set<string> };
  removed: Map<string, Asset>;
  /** Assets whose placement or configuration changed: each gets a new configuration version. */
  newConfigVersions: Set<string>;
  /** One entry per changed entity, with its before and after views. */
  changes: EntityChange[];
}

export interface ApplyOptions {
  catalog: Catalog;
  /** Placements of older configuration versions, keyed `assetId@version`, for `markDeployed`. */
  versions?: Map<string, AssetPlacement>;
  newId?: () => string;
}

/**
 * Applies a change set's operations to a copy of the site graph, in order, and reports what
 * changed. Pure: no I/O; rules run on the result; the write path persists it.
 *
 * @example
 *   const applied = applyOperations(graph, [{ op: 'setConfig', id, expectedVersion: 3, config }], { catalog });
 *   applied.changes; // [{ entityType: 'asset', action: 'update', before, after }]
 */
export function applyOperations(before: SiteGraph, ops: Operation[], opts: ApplyOptions): AppliedChange {
  // Copy on write: the candidate shares every entity the operations leave alone with `before`
  // (neither is ever mutated), and gets its own copy of an entity before changing it (an
  // asset's own fields: its configuration and deployed placement are replaced, not changed).
  // So a change costs what it touches, not the size of the site.
  // The map of cables is copied only once an operation adds, replaces or removes one: most
  // changes touch no cable, and neither graph's maps are written once this returns.
  const assets = new ChangedMap(before.assets);
  const candidate: SiteGraph & { assets: ChangedMap<string, Asset> } = {
    site: { ...before.site, network: { ...before.site.network } },
    assets,
    connections: before.connections,
  };
  const ownCables = () => {
    if (candidate.connections === before.connections) candidate.connections = new Map(before.connections);
    return candidate.connections;
  };
  const owned = { assets: new Set<string>(), connections: new Set<string>() };
  const touched = { assets: new Set<string>(), connections: new Set<string>() };
  let siteTouched = false;
  const newId = opts.newId ?? timeOrderedId;

  ops.forEach((op, i) => {
    const asset = (id: string) => {
      let a = candidate.assets.get(id);
      if (!a) throw new OperationError('not-found', i, `asset ${id} is not in site ${before.site.code}`);
      if (!owned.assets.has(id)) {
        // A copy of the asset's own fields: the operations replace its configuration and its
        // deployed placement with new objects, never change them in place, so those are shared.
        a = { ...a };
        candidate.assets.set(id, a);
        owned.assets.add(id);
      }
      return a;
    };
    const cable = (id: string) => {
      let c = candidate.connections.get(id);
      if (!c) throw new OperationError('not-found', i, `connection ${id} is not in site ${before.site.code}`);
      if (!owned.connections.has(id)) {
        c = structuredClone(c);
        ownCables().set(id, c);
        owned.connections.add(id);
      }
      return c;
    };
    const expect = (entity: 'asset' | 'connection' | 'site', id: string, current: number, expected: number) => {
      // An entity already changed earlier in this change set is compared to its stored version,
      // one created earlier in it to the version it is created at: 1.
      const stored =
        entity === 'asset' ? before.assets.get(id)?.version : entity === 'connection' ? before.connections.get(id)?.version : before.site.version;
      const version = stored ?? (current === 0 ? 1 : current);
      if (version !== expected) {
        throw new OperationError('stale', i, `${entity} ${id} is at version ${version}, not ${expected}`, { entity, id, version });
      }
    };

    switch (op.op) {
      case 'createAsset': {
        const model = opts.catalog.get(op.asset.modelId);
        if (!model) throw new OperationError('invalid', i, `unknown device model "${op.asset.modelId}"; see GET /v1/models`, undefined, '/asset/modelId');
        if (model.kind !== op.asset.kind) {
          throw new OperationError('invalid', i, `model ${model.id} is a ${model.kind}, not a ${op.asset.kind}`, undefined, '/asset/kind');
        }
        const id = op.asset.id ?? newId();
        if (candidate.assets.has(id) || before.assets.has(id)) throw new OperationError('invalid', i, `asset ${id} already exists`, undefined, '/asset/id');
        owned.assets.add(id);
        candidate.assets.set(id, {
          id,
          siteId: before.site.id,
          kind: op.asset.kind,
          modelId: model.id,
          name: op.asset.name,
          serial: op.asset.serial ?? null,
          status: op.asset.status ?? 'planned',
          firmware: op.asset.firmware ?? null,
          parentId: op.asset.parentId ?? null,
          port: op.asset.port ?? null,
          config: op.asset.config ?? defaultConfig(model, { name: op.asset.name }),
          version: 0,
          configVersion: 0,
          deployed: null,
        });
        touched.assets.add(id);
        break;
      }
      case 'updateAsset': {
        const a = asset(op.id);
        expect('asset', op.id, a.version, op.expectedVersion);
        const p = op.patch;
        if (p.name !== undefined) a.name = p.name;
        if (p.serial !== undefined) a.serial = p.serial;
        if (p.status !== undefined) a.status = p.status;
        if (p.firmware !== undefined) a.firmware = p.firmware;
        if (p.parentId !== undefined) a.parentId = p.parentId;
        if (p.port !== undefined) a.port = p.port;
        if (p.config !== undefined) a.config = mergePatch(a.config, p.config) as Asset['config'];
        touched.assets.add(a.id);
        break;
      }
      case 'setConfig': {
        const a = asset(op.id);
        expect('asset', op.id, a.version, op.expectedVersion);
        a.config = structuredClone(op.config);
        touched.assets.add(a.id);
        break;
      }
      case 'deleteAsset': {
        const a = asset(op.id);
        expect('asset', op.id, a.version, op.expectedVersion);
        candidate.assets.delete(a.id);
        touched.assets.add(a.id);
        break;
      }
      case 'markDeployed': {
        const a = asset(op.id);
        if (op.configVersion === null) a.deployed = null;
        else if (op.configVersion === a.configVersion) {
          // The desired placement is what is deployed: share it (no operation changes a
          // configuration in place), as a graph read from the database does, instead of keeping a
          // second copy of every deployed configuration in the site-graph cache.
          a.deployed = { version: op.configVersion, parentId: a.parentId, port: a.port, config: a.config };
        } else {
          const placement = opts.versions?.get(`${a.id}@${op.configVersion}`);
          if (!placement) throw new OperationError('invalid', i, `asset ${a.name} has no configuration version ${op.configVersion}`, undefined, '/configVersion');
          a.deployed = { version: op.configVersion, ...structuredClone(placement) };
        }
        touched.assets.add(a.id);
        break;
      }
      case 'connect': {
        const id = op.connection.id ?? newId();
        if (candidate.connections.has(id) || before.connections.has(id)) throw new OperationError('invalid', i, `connection ${id} already exists`, undefined, '/connection/id');
        owned.connections.add(id);
        ownCables().set(id, {
          id,
          siteId: before.site.id,
          a: { ...op.connection.a },
          b: { ...op.connection.b },
          label: op.connection.label ?? null,
          lengthM: op.connection.lengthM,
          version: 0,
        });
        touched.connections.add(id);
        break;
      }
      case 'updateConnection': {
        const c = cable(op.id);
        expect('connection', op.id, c.version, op.expectedVersion);
        if (op.patch.label !== undefined) c.label = op.patch.label;
        if (op.patch.lengthM !== undefined) c.lengthM = op.patch.lengthM;
        touched.connections.add(c.id);
        break;
      }
      case 'disconnect': {
        const c = cable(op.id);
        expect('connection', op.id, c.version, op.expectedVersion);
        ownCables().delete(c.id);
        touched.connections.add(c.id);
        break;
      }
      case 'updateSite': {
        expect('site', before.site.id, candidate.site.version, op.expectedVersion);
        const s = candidate.site;
        if (op.patch.name !== undefined) s.name = op.patch.name;
        if (op.patch.timezone !== undefined) {
          const problem = timezoneProblem(op.patch.timezone);
          if (problem) throw new OperationError('invalid', i, problem, undefined, '/patch/timezone');
          s.timezone = op.patch.timezone;
        }
        if (op.patch.network !== undefined) {
          const { vlan, ...rest } = op.patch.network;
          const { vlan: vlanBefore, ...network } = { ...s.network, ...rest };
          const vlanAfter = vlan === undefined ? vlanBefore : vlan;
          s.network = vlanAfter === null || vlanAfter === undefined ? network : { ...network, vlan: vlanAfter };
          // Checked on the merged network: a patch of the router alone can leave it outside the subnet.
          const problem = networkProblem(s.network);
          if (problem) throw new OperationError('invalid', i, problem.message, undefined, `/patch/network/${problem.field}`);
        }
        siteTouched = true;
        break;
      }
    }
  });

  return finalize(before, candidate, touched, siteTouched);
}

function finalize(before: SiteGraph, candidate: SiteGraph & { assets: ChangedMap<string, Asset> }, touched: AppliedChange['touched'], siteTouched: boolean): AppliedChange {
  const changes: EntityChange[] = [];
  const newConfigVersions = new Set<string>();
  const removed = new Map<string, Asset>();

  for (const id of touched.assets) {
    const was = before.assets.get(id);
    const now = candidate.assets.get(id);
    if (!now) {
      if (was) {
        removed.set(id, was);
        changes.push({ entityType: 'asset', entityId: id, action: 'delete', before: assetView(was), after: null });
      }
      continue;
    }
    if (!was) {
      now.version = 1;
      now.configVersion = 1;
      newConfigVersions.add(id);
      changes.push({ entityType: 'asset', entityId: id, action: 'create', before: null, after: assetView(now) });
      continue;
    }
    if (!samePlacement(was, now)) {
      now.configVersion = was.configVersion + 1;
      newConfigVersions.add(id);
    }
    const beforeView = assetView(was);
    const afterView = assetView(now);
    if (sameJson(beforeView, afterView) && sameJson(was.deployed, now.deployed)) {
      // A no-op patch changes nothing and bumps nothing: the candidate keeps the asset as it was,
      // so an untouched asset is always the same object in both graphs.
      touched.assets.delete(id);
      candidate.assets.set(id, was);
      continue;
    }
    now.version = was.version + 1;
    afterView.version = now.version;
    changes.push({ entityType: 'asset', entityId: id, action: 'update', before: beforeView, after: afterView });
  }

  for (const id of touched.connections) {
    const was = before.connections.get(id);
    const now = candidate.connections.get(id);
    if (!now) {
      if (was) changes.push({ entityType: 'connection', entityId: id, action: 'delete', before: connectionView(was), after: null });
      continue;
    }
    if (!was) {
      now.version = 1;
      changes.push({ entityType: 'connection', entityId: id, action: 'create', before: null, after: connectionView(now) });
      continue;
    }
    if (JSON.stringify(connectionView(was)) === JSON.stringify(connectionView(now))) {
      touched.connections.delete(id);
      continue;
    }
    now.version = was.version + 1;
    changes.push({ entityType: 'connection', entityId: id, action: 'update', before: connectionView(was), after: connectionView(now) });
  }

  if (siteTouched && JSON.stringify(siteView(before.site)) !== JSON.stringify(siteView(candidate.site))) {
    candidate.site.version = before.site.version + 1;
    changes.push({ entityType: 'site', entityId: before.site.id, action: 'update', before: siteView(before.site), after: siteView(candidate.site) });
  }

  return { candidate, touched, removed, newConfigVersions, changes };
}

/** Whether two assets sit in the same place with the same configuration (as jsonb stores it: members in any order). */
export const samePlacement = (a: Asset, b: Asset) => a.parentId === b.parentId && a.port === b.port && sameJson(a.config, b.config);

export type { Connection };
