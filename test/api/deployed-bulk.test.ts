import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asset, buildSite, getAsset, type SiteFixture, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let f: SiteFixture;
let g: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 3, sensors: 0 });
  g = await buildSite(h.api, { meters: 1, sensors: 0 });
});
afterAll(() => h?.close());

interface BulkAnswer {
  results: Array<{ assetId: string; status: number; problem?: { code: string; detail: string } }>;
}
const record = (items: object[]) => h.service<BulkAnswer>('POST', '/v1/internal/deployed', { items });
const changesets = async (siteId: string) =>
  (await h.api<{ items: Array<{ requestId: string | null; outcome: string; operations: Array<{ op: string; id: string }> }> }>('GET', `/v1/sites/${siteId}/changesets`)).body.items;

describe('POST /v1/internal/deployed records many acknowledged versions at once', () => {
  it('records the items of one site as one change set, with the request id of their deployment', async () => {
    const [m1, m2] = f.meters;
    const requestId = `deploy-${randomUUID()}`;
    const res = await record([
      { assetId: m1.id, configVersion: 1, requestId },
      { assetId: m2.id, configVersion: 1, requestId },
      { assetId: g.meters[0].id, configVersion: 1, requestId },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const m of [m1, m2, g.meters[0]]) expect((await getAsset(h.api, m.id)).deployedVersion).toBe(1);
    const mine = (await changesets(f.site.id)).filter((c) => c.requestId === requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ outcome: 'applied', operations: [{ op: 'markDeployed', id: m1.id }, { op: 'markDeployed', id: m2.id }] });
  });

  it('answers each refused item as its own PUT would, and still records the others', async () => {
    const m3: Asset = f.meters[2];
    const missing = randomUUID();
    const res = await record([
      { assetId: m3.id, configVersion: 1 },
      { assetId: f.meters[0].id, configVersion: 99 },
      { assetId: missing, configVersion: 1 },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => [r.assetId, r.status, r.problem?.code])).toEqual([
      [m3.id, 200, undefined],
      [f.meters[0].id, 422, 'VALIDATION_FAILED'],
      [missing, 404, 'NOT_FOUND'],
    ]);
    expect((await getAsset(h.api, m3.id)).deployedVersion).toBe(1);
    expect((await getAsset(h.api, f.meters[0].id)).deployedVersion).toBe(1);
  });

  it('is for services only', async () => {
    const res = await h.api('POST', '/v1/internal/deployed', { items: [{ assetId: f.meters[0].id, configVersion: 1 }] });
    expect(res.status).toBe(403);
  });
});
