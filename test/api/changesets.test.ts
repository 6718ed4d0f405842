import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Asset,
  auditOfSite,
  buildSite,
  type ChangesetResult,
  etagOf,
  getAsset,
  getSite,
  meterConfig,
  type Problem,
  readAllPages,
  sensorConfig,
  type SiteFixture,
  startHarness,
  storedRows,
  type Harness,
} from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const post = (siteId: string, operations: object[], query = '') => h.api<ChangesetResult & Problem>('POST', `/v1/sites/${siteId}/changesets${query}`, { operations });
const setUnitId = (m: Asset, unitId: number) => ({ op: 'updateAsset', id: m.id, expectedVersion: m.version, patch: { config: { unitId } } });

describe('a change set is validated as a whole', () => {
  let f: SiteFixture;
  beforeAll(async () => {
    f = await buildSite(h.api, { meters: 3, sensors: 2 });
  });

  it('accepts swapping the unit ids of two meters on one bus', async () => {
    const [m1, m2] = f.meters;
    // Each half alone collides with the other meter: only the pair is valid.
    const alone = await post(f.site.id, [setUnitId(m1, 2)]);
    expect(alone.status).toBe(409);

    const res = await post(f.site.id, [setUnitId(m1, 2), setUnitId(m2, 1)]);
    expect(res.status).toBe(201);
    expect(res.body.valid).toBe(true);
    expect(res.body.changes.map((c) => [c.entityId, c.action])).toEqual([
      [m1.id, 'update'],
      [m2.id, 'update'],
    ]);
    expect(res.body.changes.map((c) => c.etag)).toEqual([etagOf('asset', { id: m1.id, version: m1.version + 1 }), etagOf('asset', { id: m2.id, version: m2.version + 1 })]);
    expect((await getAsset(h.api, m1.id)).config.unitId).toBe(2);
    expect((await getAsset(h.api, m2.id)).config.unitId).toBe(1);
    expect((await h.api('POST', `/v1/sites/${f.site.id}/validate`)).body).toMatchObject({ valid: true });
  });

  it('refuses a change set with one bad operation whole, listing every violation with the assets involved', async () => {
    const [m1, m2, m3] = await Promise.all(f.meters.map((m) => getAsset(h.api, m.id)));
    const [t1] = f.sensors;
    const siteBefore = await getSite(h.api, f.site.id);
    const rowsBefore = await storedRows(h.db, f.site.id);
    const intruder = crypto.randomUUID();
    const res = await post(f.site.id, [
      { op: 'updateAsset', id: m3.id, expectedVersion: m3.version, patch: { name: 'M-3 (fine on its own)' } },
      setUnitId(m3, m1.config.unitId as number), // collides with M-1
      {
        op: 'createAsset',
        asset: { id: intruder, kind: 'sensor', modelId: 'thermia-tt-420', name: 'T-intruder', parentId: f.controller.id, port: 'ui-1', config: sensorConfig() },
      }, // ui-1 already reads T-1
    ]);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    const errors = (res.body.violations ?? []).filter((v) => v.severity === 'error');
    const unit = errors.find((v) => v.code === 'UNIT_ID_TAKEN');
    const channel = errors.find((v) => v.code === 'CHANNEL_TAKEN');
    expect(unit?.assetIds).toEqual([m3.id, m1.id]);
    expect(unit?.message).toContain(m1.name);
    expect(channel?.assetIds).toEqual([intruder, t1.id]);
    expect(channel?.message).toContain(t1.name);
    expect(res.body.detail).toMatch(/2 rule violations/);

    expect(await getSite(h.api, f.site.id)).toEqual(siteBefore);
    expect(await storedRows(h.db, f.site.id)).toEqual(rowsBefore);
    expect(await getAsset(h.api, m3.id)).toEqual(m3);
    expect(await getAsset(h.api, m2.id)).toEqual(m2);
    expect((await h.api('GET', `/v1/assets/${intruder}`)).status).toBe(404);
  });

  it('records a refused change set with its violations', async () => {
    const refused = await readAllPages<{ outcome: string; violations: object[] | null; operations: object[] }>(h.api, `/v1/sites/${f.site.id}/changesets?outcome=refused`);
    expect(refused.items.length).toBeGreaterThanOrEqual(2);
    expect(refused.items[0].violations?.length).toBeGreaterThan(0);
    expect(refused.items[0].operations).toHaveLength(3);
  });

  it('accepts deleting a gateway together with everything under it and its cables', async () => {
    const g = await buildSite(h.api, { meters: 3, sensors: 2 });
    const del = (a: Asset) => ({ op: 'deleteAsset', id: a.id, expectedVersion: a.version });
    const res = await post(g.site.id, [
      ...g.cables.map((c) => ({ op: 'disconnect', id: c.id, expectedVersion: c.version })),
      ...g.sensors.map(del),
      del(g.controller),
      ...g.meters.map(del),
      del(g.gateway),
    ]);
    expect(res.status).toBe(201);
    expect(res.body.changes.filter((c) => c.action === 'delete')).toHaveLength(g.cables.length + g.sensors.length + g.meters.length + 2);
    expect((await readAllPages(h.api, `/v1/assets?siteId=${g.site.id}`)).items).toEqual([]);
    expect((await readAllPages(h.api, `/v1/connections?siteId=${g.site.id}`)).items).toEqual([]);
  });

  it('refuses deleting a gateway while its meters stay, naming them', async () => {
    const g = await buildSite(h.api, { meters: 2, sensors: 0 });
    const res = await post(g.site.id, [
      ...g.cables.map((c) => ({ op: 'disconnect', id: c.id, expectedVersion: c.version })),
      { op: 'deleteAsset', id: g.controller.id, expectedVersion: g.controller.version },
      { op: 'deleteAsset', id: g.gateway.id, expectedVersion: g.gateway.version },
    ]);
    expect(res.status).toBe(409);
    const children = res.body.violations?.find((v) => v.code === 'ASSET_HAS_CHILDREN');
    expect(children?.assetIds).toEqual([g.gateway.id, ...g.meters.map((m) => m.id)]);
    expect((await readAllPages(h.api, `/v1/connections?siteId=${g.site.id}`)).items).toHaveLength(g.cables.length);
  });

  it('lets an operation refer to an asset created earlier in the same change set', async () => {
    const g = await buildSite(h.api, { meters: 0, sensors: 0 });
    const meterId = crypto.randomUUID();
    const res = await post(g.site.id, [
      { op: 'createAsset', asset: { id: meterId, kind: 'meter', modelId: 'voltis-em-340', name: 'M-new', parentId: g.gateway.id, port: 'rs485-1', config: meterConfig(7) } },
      { op: 'connect', connection: { a: { assetId: g.gateway.id, port: 'rs485-1' }, b: { assetId: meterId, port: 'com' }, label: 'K-new', lengthM: 8 } },
    ]);
    expect(res.status).toBe(201);
    expect((await getAsset(h.api, meterId)).config.unitId).toBe(7);
  });

  it('moves a wired sensor to another channel only with its cable, in one change set', async () => {
    const g = await buildSite(h.api, { meters: 0, sensors: 1 });
    const [t] = g.sensors;
    const cable = g.cables.find((c) => c.label === 'K-T1')!;
    const move = { op: 'updateAsset', id: t.id, expectedVersion: t.version, patch: { port: 'ui-4' } };
    const alone = await post(g.site.id, [move]);
    expect(alone.status).toBe(409);
    expect(alone.body.violations).toEqual([expect.objectContaining({ rule: 'sensor-cable-placement', code: 'CABLE_OFF_PLACEMENT', assetIds: [t.id, g.controller.id] })]);
    const withCable = await post(g.site.id, [
      move,
      { op: 'disconnect', id: cable.id, expectedVersion: cable.version },
      { op: 'connect', connection: { a: { assetId: t.id, port: 'out' }, b: { assetId: g.controller.id, port: 'ui-4' }, label: 'K-T1', lengthM: 5 } },
    ]);
    expect(withCable.status).toBe(201);
    expect((await getAsset(h.api, t.id)).port).toBe('ui-4');
  });

  it('answers without the changes when the client prefers return=minimal, and applies the same', async () => {
    const g = await buildSite(h.api, { meters: 1, sensors: 0 });
    const [m] = g.meters;
    const body = { operations: [setUnitId(m, 9)] };
    const res = await h.api<ChangesetResult>('POST', `/v1/sites/${g.site.id}/changesets`, body, { prefer: 'respond-async, return=minimal; foo=bar' });
    expect(res.status).toBe(201);
    expect(res.headers['preference-applied']).toBe('return=minimal');
    expect(res.body).toEqual({ changesetId: expect.any(String), dryRun: false, siteRevision: expect.any(Number), impacted: expect.any(Array), violations: [], valid: true });
    const stored = await getAsset(h.api, m.id);
    expect([stored.config.unitId, stored.version]).toEqual([9, m.version + 1]);

    const full = await h.api<ChangesetResult>('POST', `/v1/sites/${g.site.id}/changesets`, { operations: [setUnitId(stored, 10)] }, { prefer: 'return=representation' });
    expect(full.headers['preference-applied']).toBeUndefined();
    expect(full.body.changes.map((c) => c.entityId)).toEqual([m.id]);
  });
});

describe('a dry run', () => {
  let f: SiteFixture;
  beforeAll(async () => {
    f = await buildSite(h.api, { meters: 3, sensors: 1 });
  });

  async function snapshot() {
    return {
      site: await getSite(h.api, f.site.id),
      rows: await storedRows(h.db, f.site.id),
      audit: await auditOfSite(h.api, f.site.id),
      changesets: (await readAllPages(h.api, `/v1/sites/${f.site.id}/changesets`)).items,
    };
  }

  it('answers operations that cancel out with 200 and no change set: nothing is recorded', async () => {
    const before = await snapshot();
    const id = crypto.randomUUID();
    const res = await post(f.site.id, [
      { op: 'createAsset', asset: { id, kind: 'meter', modelId: 'voltis-em-340', name: 'M-fleeting', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(13) } },
      { op: 'deleteAsset', id, expectedVersion: 1 },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ changesetId: null, dryRun: false, changes: [], siteRevision: before.site.revision });
    expect(await snapshot()).toEqual(before);
  });

  it('returns the plan — changes with diffs, impacted assets, violations — and changes nothing', async () => {
    const [m1, m2] = f.meters;
    const before = await snapshot();
    const newId = crypto.randomUUID();
    const res = await post(
      f.site.id,
      [
        setUnitId(m1, 9),
        { op: 'createAsset', asset: { id: newId, kind: 'meter', modelId: 'voltis-em-340', name: 'M-planned', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(12) } },
      ],
      '?dryRun=true',
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ changesetId: null, dryRun: true, valid: true, violations: [], siteRevision: before.site.revision });
    const update = res.body.changes.find((c) => c.entityId === m1.id);
    expect(update).toMatchObject({ entityType: 'asset', action: 'update', before: { config: { unitId: 1 } }, after: { config: { unitId: 9 } } });
    expect(update?.diff).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/config/unitId', value: 9 },
        { op: 'replace', path: '/configVersion', value: m1.configVersion + 1 },
      ]),
    );
    const create = res.body.changes.find((c) => c.entityId === newId);
    expect(create).toMatchObject({ action: 'create', before: null, after: { name: 'M-planned' } });
    expect(res.body.impacted).toEqual(expect.arrayContaining([f.gateway.id, m2.id]));
    expect(res.body.impacted).not.toContain(m1.id);

    expect(await snapshot()).toEqual(before);
    expect((await h.api('GET', `/v1/assets/${newId}`)).status).toBe(404);
  });

  it('returns the violations a change would hit with 200, and records nothing', async () => {
    const [m1, m2] = f.meters;
    const before = await snapshot();
    const res = await post(f.site.id, [setUnitId(m1, m2.config.unitId as number)], '?dryRun=true');
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(false);
    expect(res.body.violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: [m1.id, m2.id], severity: 'error' })]);
    expect(await snapshot()).toEqual(before);
  });

  it('is not taken for a real change when misspelt: an unknown query parameter is 422, and nothing is stored', async () => {
    const [m1] = f.meters;
    const before = await snapshot();
    for (const query of ['?dryrun=true', '?dry_run=true', '?dryRun=true&force=1']) {
      const res = await post(f.site.id, [setUnitId(m1, 44)], query);
      const unknown = query.includes('force') ? '/force' : `/${query.slice(1, query.indexOf('='))}`;
      expect([query, res.status, (res.body as unknown as Problem).errors]).toEqual([
        query,
        422,
        [{ in: 'querystring', path: unknown, message: 'is not a query parameter of this endpoint' }],
      ]);
    }
    expect(await snapshot()).toEqual(before);
    // A list filter too: a misspelt one does not answer the whole list, also in the audit log.
    for (const url of [`/v1/assets?sitId=${f.site.id}`, `/v1/audit?siteid=${f.site.id}`]) {
      const list = await h.api<Problem>('GET', url);
      expect([url, list.status, list.body.errors]).toEqual([url, 422, [expect.objectContaining({ in: 'querystring', path: url.includes('audit') ? '/siteid' : '/sitId' })]]);
    }
    // And a route that takes no query parameter at all does not take ?dryRun=true for a dry run.
    const asset = await getAsset(h.api, m1.id);
    const patch = await h.api<Problem>('PATCH', `/v1/assets/${m1.id}?dryRun=true`, { config: { unitId: 45 } }, { 'if-match': etagOf('asset', asset) });
    expect(patch.status).toBe(422);
    expect(patch.body.errors).toEqual([expect.objectContaining({ in: 'querystring', path: '/dryRun' })]);
    expect(await getAsset(h.api, m1.id)).toEqual(asset);
  });

  it('plans what the real change then does', async () => {
    const [, , m3] = f.meters;
    const ops = [setUnitId(m3, 30)];
    const plan = await post(f.site.id, ops, '?dryRun=true');
    const real = await post(f.site.id, ops);
    expect(real.status).toBe(201);
    expect(real.body.changes.map(({ entityId, action, before, after, diff }) => ({ entityId, action, before, after, diff }))).toEqual(
      plan.body.changes.map(({ entityId, action, before, after, diff }) => ({ entityId, action, before, after, diff })),
    );
    expect(real.body.siteRevision).toBe(plan.body.siteRevision + 1);
  });
});

describe('the change sets of a site', () => {
  it('are listed newest first, page by page, each exactly once — also those refused in the same millisecond', async () => {
    const f = await buildSite(h.api, { meters: 2, sensors: 0 });
    const [m1, m2] = f.meters;
    const refused = await Promise.all(Array.from({ length: 24 }, () => post(f.site.id, [setUnitId(m1, m2.config.unitId as number)])));
    expect(refused.every((r) => r.status === 409)).toBe(true);
    const all = await readAllPages<{ id: string; createdAt: string; outcome: string }>(h.api, `/v1/sites/${f.site.id}/changesets?limit=500`);
    expect(all.pages).toBe(1);
    expect(all.items.filter((c) => c.outcome === 'refused')).toHaveLength(24);
    const paged = await readAllPages<{ id: string }>(h.api, `/v1/sites/${f.site.id}/changesets?limit=1`);
    expect(paged.items.map((c) => c.id)).toEqual(all.items.map((c) => c.id));
    const createdAt = all.items.map((c) => c.createdAt);
    expect([...createdAt].sort().reverse()).toEqual(createdAt);
  });
});

describe('change set bodies', () => {
  it('refuses an empty list of operations and an unknown operation with 422', async () => {
    const f = await buildSite(h.api, { meters: 0, sensors: 0 });
    const empty = await post(f.site.id, []);
    expect(empty.status).toBe(422);
    const unknown = await post(f.site.id, [{ op: 'explode', id: f.gateway.id }]);
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors?.[0].path).toMatch(/^\/operations\/0/);
  });
});
