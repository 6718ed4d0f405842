import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigSchemaCheck } from '../config/config-schema-check.ts';
import { builtinCatalog } from '../core/catalog/catalog.ts';
import { applyOperations } from '../core/changes/apply-operations.ts';
import type { NewAsset } from '../core/changes/operations.ts';
import { GraphIndex } from '../core/graph/graph-index.ts';
import type { SiteGraph } from '../core/graph/types.ts';
import { runRules } from '../core/rules/run-rules.ts';
import { nameKey } from '../core/rules/name-unique.ts';
import { serialKey } from '../core/rules/serial-unique.ts';
import { planFleet } from './fleet-plan.ts';
import type { FleetPlan, SitePlan } from './plan-types.ts';

const catalog = builtinCatalog();
const schemas = new ConfigSchemaCheck(catalog);

const emptySite = (plan: SitePlan): SiteGraph => ({
  site: { id: '00000000-0000-4000-8000-00000000cafe', orgId: '00000000-0000-4000-8000-000000000001', ...plan.create, revision: 1, version: 1 },
  assets: new Map(),
  connections: new Map(),
});

/**
 * Replays a site's change sets on the pure core the way the write path does: each change set
 * applied to the state the previous one left, schema-checked, and checked by every rule on what
 * it touched; then the whole site re-checked as `POST /v1/sites/{id}/validate` does.
 */
function replay(plan: SitePlan): string[] {
  const problems: string[] = [];
  let graph = emptySite(plan);
  const check = (candidate: SiteGraph, before: SiteGraph, touched: { assets: Set<string>; connections: Set<string> }, when: string) => {
    const violations = runRules({ candidate, before, index: new GraphIndex(candidate), touched, removed: new Map(), catalog, fleet: { serialOwners: new Map() } });
    for (const v of violations) problems.push(`${plan.code} ${when}: ${v.severity} ${v.rule} ${v.code}: ${v.message}`);
  };
  for (const [i, cs] of plan.changesets.entries()) {
    const applied = applyOperations(graph, cs.operations, { catalog });
    for (const id of applied.touched.assets) {
      const asset = applied.candidate.assets.get(id);
      for (const p of asset ? schemas.check(asset) : []) problems.push(`${plan.code} change set ${i + 1}: schema ${asset?.name}${p.path}: ${p.message}`);
    }
    check(applied.candidate, graph, applied.touched, `change set ${i + 1}`);
    graph = applied.candidate;
  }
  check(graph, graph, { assets: new Set(graph.assets.keys()), connections: new Set(graph.connections.keys()) }, 'whole site');
  return problems;
}

const createdAssets = (site: SitePlan): NewAsset[] =>
  site.changesets.flatMap((cs) => cs.operations.flatMap((o) => (o.op === 'createAsset' ? [o.asset] : [])));
const allAssets = (plan: FleetPlan) => plan.sites.flatMap(createdAssets);

describe('planFleet', () => {
  const fleet = planFleet({ sites: 20, assets: 1000 });

  it('plans the same fleet, uuids included, for the same seed, and another one for another seed', () => {
    expect(planFleet({ sites: 20, assets: 1000 })).toEqual(fleet);
    const other = planFleet({ sites: 20, assets: 1000, seed: 2 });
    expect(allAssets(other).map((a) => a.id)).not.toEqual(allAssets(fleet).map((a) => a.id));
  });

  it('holds exactly the sites and assets asked for, spread unevenly over the sites', () => {
    const big = planFleet({ sites: 500, assets: 25_000 });
    expect(big.sites).toHaveLength(500);
    expect(big.assets).toBe(25_000);
    expect(allAssets(big)).toHaveLength(25_000);
    const sizes = big.sites.map((s) => s.assets);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(95);
    expect(new Set(sizes).size).toBeGreaterThan(40);
    expect(big.sites.map((s) => s.code).slice(0, 2)).toEqual(['S0001', 'S0002']);
    expect(new Set(big.sites.map((s) => s.create.network.subnet)).size).toBe(500);
    expect(new Set(big.sites.map((s) => s.create.timezone)).size).toBeGreaterThan(10);
  });

  it('builds every site so that it passes every rule, change set by change set and as a whole, without a warning', () => {
    expect(fleet.sites.flatMap(replay)).toEqual([]);
  });

  it('mixes every kind of asset, most models of the catalog, and cables', () => {
    const assets = allAssets(fleet);
    expect(new Set(assets.map((a) => a.kind))).toEqual(new Set(['gateway', 'controller', 'meter', 'sensor']));
    expect(new Set(assets.map((a) => a.modelId)).size).toBeGreaterThanOrEqual(14);
    expect(fleet.cables).toBeGreaterThan(fleet.assets / 2);
  });

  it('keeps change sets under 200 operations, each referring only to assets created before or in it', () => {
    for (const site of fleet.sites) {
      const known = new Set<string>();
      for (const cs of site.changesets) {
        expect(cs.operations.length).toBeLessThanOrEqual(200);
        for (const o of cs.operations) {
          if (o.op === 'createAsset') {
            if (o.asset.parentId) expect(known.has(o.asset.parentId)).toBe(true);
            known.add(o.asset.id as string);
          }
          if (o.op === 'connect') expect([known.has(o.connection.a.assetId), known.has(o.connection.b.assetId)]).toEqual([true, true]);
        }
      }
    }
  });

  it('gives unique ids and serials fleet-wide and unique names within a site', () => {
    const assets = allAssets(fleet);
    expect(new Set(assets.map((a) => a.id)).size).toBe(assets.length);
    const serials = assets.flatMap((a) => (a.serial ? [serialKey(a.serial)] : []));
    expect(serials.length).toBeGreaterThan(assets.length / 2);
    expect(new Set(serials).size).toBe(serials.length);
    for (const site of fleet.sites) {
      const names = createdAssets(site).map((a) => nameKey(a.name));
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('seeds a second fleet under a prefix with its own site codes, serials and ids', () => {
    const second = planFleet({ sites: 20, assets: 1000, prefix: 'B' });
    expect(second.sites[0].code).toBe('B-S0001');
    const taken = new Set(allAssets(fleet).flatMap((a) => (a.serial ? [a.id, a.serial] : [a.id])));
    expect(allAssets(second).filter((a) => taken.has(a.id as string) || (a.serial && taken.has(a.serial)))).toEqual([]);
  });

  it('refuses fewer assets than sites and a prefix a site code cannot carry', () => {
    expect(() => planFleet({ sites: 5, assets: 4 })).toThrow(/every site needs at least its gateway/);
    expect(() => planFleet({ sites: 1, assets: 10, prefix: 'b-1' })).toThrow(/prefix/);
  });

  it('passes every rule for any seed, site count and site size (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 150 }), (seed, sites, perSite) => {
        const plan = planFleet({ sites, assets: sites * perSite, seed });
        expect(plan.assets).toBe(sites * perSite);
        expect(plan.sites.flatMap(replay)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});
