import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asset, auditOfSite, buildSite, createAsset, etagOf, getAsset, meterConfig, type Problem, type SiteFixture, startHarness, storedRows, type Harness } from './helpers.ts';

let h: Harness;
let one: SiteFixture;
let two: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  one = await buildSite(h.api, { meters: 1, sensors: 0 });
  two = await buildSite(h.api, { meters: 1, sensors: 0 });
});
afterAll(() => h?.close());

function expectConstraint(res: { status: number; headers: Record<string, unknown>; body: Problem }) {
  expect(res.status).toBe(409);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('CONFLICT_CONSTRAINT');
}

describe('database constraints back the rules up and answer 409, never 500', () => {
  it('refuses an asset whose id already exists in another site, and stores nothing', async () => {
    const taken = one.meters[0];
    const before = await storedRows(h.db, two.site.id);
    const res = await h.api<Problem>('POST', '/v1/assets', {
      id: taken.id,
      siteId: two.site.id,
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-clone',
      parentId: two.gateway.id,
      port: 'rs485-2',
      config: meterConfig(9),
    });
    expectConstraint(res);
    expect(res.body.constraint).toBe('assets_pkey');
    expect(await storedRows(h.db, two.site.id)).toEqual(before);
    expect(await getAsset(h.api, taken.id)).toEqual(taken);
  });

  it('refuses the same inside a change set, with none of its other operations applied', async () => {
    const taken = one.meters[0];
    const gw = await getAsset(h.api, two.gateway.id);
    const res = await h.api<Problem>('POST', `/v1/sites/${two.site.id}/changesets`, {
      operations: [
        { op: 'updateAsset', id: gw.id, expectedVersion: gw.version, patch: { name: 'GW renamed' } },
        { op: 'createAsset', asset: { id: taken.id, kind: 'meter', modelId: 'voltis-em-340', name: 'M-clone', parentId: gw.id, port: 'rs485-2', config: meterConfig(9) } },
      ],
    });
    expectConstraint(res);
    expect(await getAsset(h.api, gw.id)).toEqual(gw);
  });

  it('refuses a cable whose id already exists in another site', async () => {
    const taken = one.cables[0];
    const res = await h.api<Problem>('POST', '/v1/connections', {
      id: taken.id,
      siteId: two.site.id,
      a: { assetId: two.gateway.id, port: 'rs485-2' },
      b: { assetId: two.controller.id, port: 'com' },
      lengthM: 4,
    });
    expectConstraint(res);
    expect(res.body.constraint).toBe('connections_pkey');
  });

  it('leaves a serial held in another site to the rules when there is no race: 409 naming the holder', async () => {
    const holder = await createAsset(h.api, one.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-serial', serial: 'VOL-0042', parentId: one.gateway.id, port: 'rs485-2', config: meterConfig(8) });
    const res = await h.api<Problem>('POST', '/v1/assets', { siteId: two.site.id, kind: 'meter', modelId: 'voltis-em-340', name: 'M-serial', serial: 'vol-0042', parentId: two.gateway.id, port: 'rs485-2', config: meterConfig(8) });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    expect(res.body.violations).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', assetIds: [expect.any(String), holder.id] })]);
  });

  it('looks up a serial an asset changes to, not one it keeps: a serial held elsewhere is refused on PATCH too', async () => {
    const holder = (await h.api<{ items: Asset[] }>('GET', '/v1/assets?serial=VOL-0042')).body.items[0];
    const m = await createAsset(h.api, two.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-serial-2', serial: 'VOL-0043', parentId: two.gateway.id, port: 'rs485-2', config: meterConfig(12) });
    const kept = await h.api<Asset>('PATCH', `/v1/assets/${m.id}`, { serial: 'vol-0043', name: 'M-serial-2b' }, { 'if-match': etagOf('asset', m) });
    expect(kept.status).toBe(200);
    const taken = await h.api<Problem>('PATCH', `/v1/assets/${m.id}`, { serial: 'Vol-0042' }, { 'if-match': etagOf('asset', kept.body) });
    expect(taken.status).toBe(409);
    expect(taken.body.violations).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', assetIds: [m.id, holder.id] })]);
  });

  it('keeps writing normally afterwards: the failed transaction left no lock or stale cache behind', async () => {
    const m = await createAsset(h.api, two.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-after', parentId: two.gateway.id, port: 'rs485-2', config: meterConfig(9) });
    const renamed = await h.api<Asset>('PATCH', `/v1/assets/${m.id}`, { name: 'M-after renamed' }, { 'if-match': etagOf('asset', m) });
    expect(renamed.status).toBe(200);
    expect((await h.api('POST', `/v1/sites/${two.site.id}/validate`)).body).toMatchObject({ valid: true });
  });

  it('leaves no applied audit event for a write a constraint refused', async () => {
    const events = await auditOfSite(h.api, two.site.id, { entityId: one.meters[0].id });
    expect(events).toEqual([]);
  });
});
