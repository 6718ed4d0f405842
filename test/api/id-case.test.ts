import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Asset,
  type AuditEvent,
  buildSite,
  type ChangesetResult,
  etagOf,
  meterConfig,
  type Page,
  type Site,
  type SiteFixture,
  startHarness,
  type Harness,
} from './helpers.ts';

/**
 * PostgreSQL's `uuid` reads an id in either case as one id, while the write path, the site-graph
 * cache, the audit log and ETags compare ids as text: an id sent in upper case is taken as the
 * lower-case id it names, everywhere a request carries one.
 */
let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 2, sensors: 1 });
});
afterAll(() => h?.close());

const upper = (id: string) => id.toUpperCase();

describe('ids sent in upper case', () => {
  it('creates an asset under the lower-case id, with its ETag and its audit history', async () => {
    const id = randomUUID();
    const res = await h.api<Asset>('POST', '/v1/assets', {
      id: upper(id),
      siteId: upper(f.site.id),
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'Upper-case meter',
      parentId: upper(f.gateway.id),
      port: 'rs485-1',
      config: meterConfig(7),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ id, siteId: f.site.id, parentId: f.gateway.id });
    expect(res.headers.etag).toBe(etagOf('asset', res.body));
    expect(res.headers.location).toBe(`/v1/assets/${id}`);

    const history = await h.api<Page<AuditEvent>>('GET', `/v1/assets/${id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((e) => [e.action, e.entityId])).toEqual([['create', id]]);
    const { rows } = await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.events WHERE entity_id <> lower(entity_id)`);
    expect(rows[0].n).toBe(0);
  });

  it('reads and updates an asset through its id in upper case, with the ETag it answered', async () => {
    const meter = f.meters[0];
    const got = await h.api<Asset>('GET', `/v1/assets/${upper(meter.id)}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(meter.id);
    expect(got.headers.etag).toBe(etagOf('asset', got.body));

    const res = await h.api<Asset>('PATCH', `/v1/assets/${upper(meter.id)}`, { name: 'Renamed through upper case' }, { 'if-match': String(got.headers.etag) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: meter.id, name: 'Renamed through upper case', version: got.body.version + 1 });
    expect(res.headers.etag).toBe(etagOf('asset', res.body));

    const history = await h.api<Page<AuditEvent>>('GET', `/v1/assets/${upper(meter.id)}/history`);
    expect(history.status).toBe(200);
    expect(history.body.items[0]).toMatchObject({ action: 'update', entityId: meter.id });
  });

  it('refers in one change set to an asset it creates in upper case by its lower-case id', async () => {
    const id = randomUUID();
    const res = await h.api<ChangesetResult>('POST', `/v1/sites/${upper(f.site.id)}/changesets`, {
      operations: [
        {
          op: 'createAsset',
          asset: { id: upper(id), kind: 'meter', modelId: 'voltis-em-340', name: 'Made in a change set', parentId: upper(f.gateway.id), port: 'rs485-1', config: meterConfig(8) },
        },
      ],
    });
    expect(res.status, res.text).toBe(201);
    // The next write, from the copy of the site this instance holds, names it in lower case.
    const next = await h.api<ChangesetResult>('POST', `/v1/sites/${f.site.id}/changesets`, {
      operations: [{ op: 'updateAsset', id, expectedVersion: 1, patch: { name: 'Renamed in a change set' } }],
    });
    expect(next.status, next.text).toBe(201);
    const asset = await h.api<Asset>('GET', `/v1/assets/${id}`);
    expect(asset.body).toMatchObject({ id, name: 'Renamed in a change set', version: 2 });
  });

  it("refuses a loop's sensor named in upper case with 422, changing nothing: a configuration is stored as sent", async () => {
    const controller = await h.api<Asset>('GET', `/v1/assets/${f.controller.id}`);
    const loop = { name: 'Supply temperature', inputSensorId: upper(f.sensors[0].id), outputChannel: 'ao-1', setpoint: 21 };
    const res = await h.api<{ code: string; errors: Array<{ path: string; message: string }> }>(
      'PATCH',
      `/v1/assets/${f.controller.id}`,
      { config: { channels: { 'ao-1': { signal: '0-10V' } }, loops: [loop] } },
      { 'if-match': String(controller.headers.etag) },
    );
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: '/config/loops/0/inputSensorId', message: expect.stringContaining(f.sensors[0].id) })]);
    expect((await h.api<Asset>('GET', `/v1/assets/${f.controller.id}`)).body).toEqual(controller.body);
    // In lower case, as every id rema answers with: taken.
    const ok = await h.api<Asset>(
      'PATCH',
      `/v1/assets/${f.controller.id}`,
      { config: { channels: { 'ao-1': { signal: '0-10V' } }, loops: [{ ...loop, inputSensorId: f.sensors[0].id }] } },
      { 'if-match': String(controller.headers.etag) },
    );
    expect(ok.status, ok.text).toBe(200);
  });

  it('filters lists by an id in upper case', async () => {
    const res = await h.api<Page<Asset>>('GET', `/v1/assets?siteId=${upper(f.site.id)}&parentId=${upper(f.gateway.id)}&limit=100`);
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.every((a) => a.parentId === f.gateway.id)).toBe(true);
    const site = await h.api<Site>('GET', `/v1/sites/${upper(f.site.id)}`);
    expect(site.body.id).toBe(f.site.id);
  });

  it('still refuses what is not a uuid', async () => {
    const res = await h.api<{ code: string }>('GET', `/v1/assets/${f.meters[0].id.slice(0, 35)}X`);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});
