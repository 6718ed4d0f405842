import jsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asset, buildSite, createAsset, etagOf, getAsset, meterConfig, type Page, type Problem, readAllPages, type SiteFixture, startHarness, type Harness } from './helpers.ts';

interface Version {
  assetId: string;
  version: number;
  parentId: string | null;
  port: string | null;
  config: Record<string, unknown>;
  changesetId: string;
  createdAt: string;
}

let h: Harness;
let f: SiteFixture;
/** A meter taken through three configuration versions and one name-only change. */
let meter: Asset;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 1, sensors: 0 });
  meter = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-v', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(20) });
  meter = await write('PATCH', `/v1/assets/${meter.id}`, { config: { ct: { primaryA: 150 } } });
  meter = await write('PATCH', `/v1/assets/${meter.id}`, { name: 'M-v renamed' });
  meter = await write('PUT', `/v1/assets/${meter.id}/config`, { ...meterConfig(21), ct: { primaryA: 150, secondary: '5A' } });
  meter = await write('PATCH', `/v1/assets/${meter.id}`, { port: 'rs485-2' });
});
afterAll(() => h?.close());

async function write(method: 'PATCH' | 'PUT', url: string, body: object): Promise<Asset> {
  const res = await h.api<Asset>(method, url, body, { 'if-match': etagOf('asset', meter) });
  if (res.status !== 200) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
  return res.body;
}

describe('configuration versions', () => {
  it('creates a new version for each configuration or placement change, and none for a rename', async () => {
    expect(meter.configVersion).toBe(4);
    expect(meter.version).toBe(5);
    const list = await h.api<Page<Version>>('GET', `/v1/assets/${meter.id}/versions`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((v) => v.version)).toEqual([4, 3, 2, 1]);
    expect(list.body.nextCursor).toBeNull();
  });

  it('keeps each version as it was committed', async () => {
    const v1 = await h.api<Version>('GET', `/v1/assets/${meter.id}/versions/1`);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ assetId: meter.id, version: 1, parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(20) });
    const v2 = await h.api<Version>('GET', `/v1/assets/${meter.id}/versions/2`);
    expect(v2.body.config).toEqual({ ...meterConfig(20), ct: { primaryA: 150, secondary: '5A' } });
    const v4 = await h.api<Version>('GET', `/v1/assets/${meter.id}/versions/4`);
    expect(v4.body).toMatchObject({ port: 'rs485-2', config: meter.config });
  });

  it('names the change set that made each version', async () => {
    const { items } = (await h.api<Page<Version>>('GET', `/v1/assets/${meter.id}/versions`)).body;
    expect(new Set(items.map((v) => v.changesetId)).size).toBe(items.length);
    const cs = await h.api<{ id: string; outcome: string }>('GET', `/v1/changesets/${items[0].changesetId}`);
    expect(cs.body).toMatchObject({ id: items[0].changesetId, outcome: 'applied' });
  });

  it('pages through versions newest first, each exactly once', async () => {
    const paged = await readAllPages<Version>(h.api, `/v1/assets/${meter.id}/versions?limit=1`);
    expect(paged.pages).toBe(4);
    expect(paged.items.map((v) => v.version)).toEqual([4, 3, 2, 1]);
  });

  it('answers 404 for a version that does not exist', async () => {
    const res = await h.api<Problem>('GET', `/v1/assets/${meter.id}/versions/99`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('gives the JSON Patch from one version to another, which turns the one into the other', async () => {
    const res = await h.api<{ assetId: string; from: number; to: number; diff: jsonPatch.Operation[] }>('GET', `/v1/assets/${meter.id}/diff?from=1&to=4`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ assetId: meter.id, from: 1, to: 4 });
    expect(res.body.diff).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/port', value: 'rs485-2' },
        { op: 'replace', path: '/config/unitId', value: 21 },
        { op: 'replace', path: '/config/ct/primaryA', value: 150 },
      ]),
    );
    const v1 = (await h.api<Version>('GET', `/v1/assets/${meter.id}/versions/1`)).body;
    const placement = { parentId: v1.parentId, port: v1.port, config: v1.config };
    const patched = jsonPatch.applyPatch(placement, res.body.diff, true, false).newDocument;
    expect(patched).toEqual({ parentId: meter.parentId, port: meter.port, config: meter.config });
  });

  it('gives the reverse patch backwards and an empty one between a version and itself', async () => {
    const back = await h.api<{ diff: jsonPatch.Operation[] }>('GET', `/v1/assets/${meter.id}/diff?from=2&to=1`);
    expect(back.body.diff).toEqual([{ op: 'replace', path: '/config/ct/primaryA', value: 100 }]);
    const same = await h.api<{ diff: jsonPatch.Operation[] }>('GET', `/v1/assets/${meter.id}/diff?from=3&to=3`);
    expect(same.body.diff).toEqual([]);
  });

  it('answers 404 for a diff to a missing version and 422 without from/to', async () => {
    expect((await h.api('GET', `/v1/assets/${meter.id}/diff?from=1&to=42`)).status).toBe(404);
    const res = await h.api<Problem>('GET', `/v1/assets/${meter.id}/diff?from=1`);
    expect(res.status).toBe(422);
    expect(res.body.errors?.map((e) => e.path)).toContain('/to');
  });

  it('refuses a version number no version can have with 422, before the database sees it', async () => {
    for (const path of [`/versions/2147483648`, `/versions/99999999999999999999`, `/diff?from=1&to=2147483648`]) {
      const res = await h.api<Problem>('GET', `/v1/assets/${meter.id}${path}`);
      expect([path, res.status, res.body.code]).toEqual([path, 422, 'VALIDATION_FAILED']);
    }
  });

  it('creates no version for a patch that changes nothing', async () => {
    const res = await h.api<Asset>('PATCH', `/v1/assets/${meter.id}`, { config: { unitId: 21 } }, { 'if-match': etagOf('asset', meter) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(meter);
    expect((await h.api<Page<Version>>('GET', `/v1/assets/${meter.id}/versions`)).body.items).toHaveLength(4);
  });

  it('keeps the versions of a deleted asset', async () => {
    const doomed = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-gone', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(30) });
    const changed = (await h.api<Asset>('PATCH', `/v1/assets/${doomed.id}`, { config: { unitId: 31 } }, { 'if-match': etagOf('asset', doomed) })).body;
    expect((await h.api('DELETE', `/v1/assets/${doomed.id}`, undefined, { 'if-match': etagOf('asset', changed) })).status).toBe(204);
    expect((await h.api('GET', `/v1/assets/${doomed.id}`)).status).toBe(404);
    const list = await h.api<Page<Version>>('GET', `/v1/assets/${doomed.id}/versions`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((v) => [v.version, v.config.unitId])).toEqual([
      [2, 31],
      [1, 30],
    ]);
  });

  it('shows the desired configuration version on the asset itself', async () => {
    expect((await getAsset(h.api, meter.id)).configVersion).toBe(4);
  });
});
