import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asset, buildSite, createAsset, etagOf, getAsset, meterConfig, type Problem, type SiteFixture, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 1, sensors: 0 });
});
afterAll(() => h?.close());

// Only services record what a device acknowledged: the lifecycle service does, with its service token.
const markDeployed = (id: string, configVersion: number | null) => h.service<Asset>('PUT', `/v1/internal/assets/${id}/deployed`, { configVersion });
const setUnitId = <T = Asset>(a: Asset, unitId: number) => h.api<T>('PATCH', `/v1/assets/${a.id}`, { config: { unitId } }, { 'if-match': etagOf('asset', a) });

describe('a unit id still deployed on a device stays taken', () => {
  it('refuses unit id 5 to meter B while meter A still runs 5, and accepts it once A acknowledged 6', async () => {
    let a = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-A', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(5) });
    const b = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-B', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(7) });

    const deployed = await markDeployed(a.id, 1);
    expect(deployed.status).toBe(200);
    expect(deployed.body.deployedVersion).toBe(1);
    a = deployed.body;

    const moved = await setUnitId(a, 6);
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ configVersion: 2, deployedVersion: 1 });
    expect(moved.body.config.unitId).toBe(6);
    a = moved.body;

    const refused = await setUnitId<Problem>(b, 5);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CONFLICT_RULES');
    expect(refused.body.violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: [b.id, a.id], severity: 'error' })]);
    expect(refused.body.violations?.[0].message).toMatch(/still deployed on meter M-A \(version 1\)/);
    expect((await getAsset(h.api, b.id)).config.unitId).toBe(7);

    const acknowledged = await markDeployed(a.id, 2);
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body.deployedVersion).toBe(2);

    const accepted = await setUnitId(b, 5);
    expect(accepted.status).toBe(200);
    expect(accepted.body.config.unitId).toBe(5);
    expect((await h.api('POST', `/v1/sites/${f.site.id}/validate`)).body).toMatchObject({ valid: true });
  });

  it('refuses a swap while one device still runs the other id, and accepts it after the acknowledgement', async () => {
    let c = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-C', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(20) });
    let d = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-D', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(21) });
    c = (await markDeployed(c.id, 1)).body;
    const swap = (x: Asset, y: Asset) =>
      h.api<Problem>('POST', `/v1/sites/${f.site.id}/changesets`, {
        operations: [
          { op: 'updateAsset', id: x.id, expectedVersion: x.version, patch: { config: { unitId: 21 } } },
          { op: 'updateAsset', id: y.id, expectedVersion: y.version, patch: { config: { unitId: 20 } } },
        ],
      });
    const refused = await swap(c, d);
    expect(refused.status).toBe(409);
    expect(refused.body.violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: [d.id, c.id] })]);

    c = (await markDeployed(c.id, null)).body;
    d = await getAsset(h.api, d.id);
    expect((await swap(c, d)).status).toBe(201);
  });

  it('refuses to record a configuration version the asset never had', async () => {
    const res = await h.service<Problem>('PUT', `/v1/internal/assets/${f.meters[0].id}/deployed`, { configVersion: 9 });
    expect(res.status).toBe(422);
    expect(res.body.errors?.[0].path).toBe('/configVersion');
  });

  it('refuses to delete an asset whose device still runs a configuration', async () => {
    const m = (await markDeployed(f.meters[0].id, 1)).body;
    const res = await h.api<Problem>('DELETE', `/v1/assets/${m.id}`, undefined, { 'if-match': etagOf('asset', m) });
    expect(res.status).toBe(409);
    expect(res.body.violations?.map((v) => v.code)).toContain('ASSET_DEPLOYED');
  });
});
