import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Asset,
  buildSite,
  type Connection,
  connect,
  createAsset,
  createSite,
  etagOf,
  getAsset,
  getSite,
  ipMeterConfig,
  meterConfig,
  NETWORK,
  type Page,
  type Problem,
  readAllPages,
  type Site,
  type SiteFixture,
  startHarness,
  TOKEN,
  type Harness,
} from './helpers.ts';

let h: Harness;
let f: SiteFixture;
let other: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 5, sensors: 3 });
  other = await buildSite(h.api, { meters: 2, sensors: 1 });
});
afterAll(() => h?.close());

const ids = (items: Array<{ id: string }>) => items.map((i) => i.id).sort();

describe('sites over HTTP', () => {
  it('creates a site and answers 201 with its ETag and location', async () => {
    const res = await h.api<Site>('POST', '/v1/sites', { code: 'BER-01', name: 'Berlin plant', timezone: 'Europe/Berlin', network: NETWORK });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ code: 'BER-01', name: 'Berlin plant', timezone: 'Europe/Berlin', network: NETWORK, version: 1 });
    expect(res.headers.etag).toBe(etagOf('site', res.body));
    expect(res.headers.location).toBe(`/v1/sites/${res.body.id}`);
    const got = await h.api<Site>('GET', `/v1/sites/${res.body.id}`);
    expect(got.body).toEqual(res.body);
    expect(got.headers.etag).toBe(res.headers.etag);
  });

  it('refuses a second site with the same code in the organisation (409, not 500)', async () => {
    await createSite(h.api, { code: 'DUP-01' });
    const res = await h.api<Problem>('POST', '/v1/sites', { code: 'DUP-01', name: 'Again', timezone: 'UTC', network: NETWORK });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_CONSTRAINT');
  });

  it("refuses a router on the subnet's network or broadcast address (422 naming /network/router), on create and on patch", async () => {
    const made = await h.api<Problem>('POST', '/v1/sites', { code: 'NET-0', name: 'Net', timezone: 'UTC', network: { subnet: '10.98.0.0/24', router: '10.98.0.0' } });
    expect(made.status).toBe(422);
    expect(made.body.errors).toEqual([expect.objectContaining({ path: '/network/router', message: expect.stringContaining('network address') })]);
    const site = await createSite(h.api);
    const res = await h.api<Problem>('PATCH', `/v1/sites/${site.id}`, { network: { router: '10.20.0.255' } }, { 'if-match': etagOf('site', site) });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.errors)).toContain('broadcast address');
    expect((await h.api<Site>('GET', `/v1/sites/${site.id}`)).body).toEqual(site);
  });

  it("removes a site's VLAN with a merge patch of null, and keeps it when the patch leaves it out", async () => {
    const made = await h.api<Site>('POST', '/v1/sites', { code: 'VLAN-1', name: 'On a VLAN', timezone: 'UTC', network: { ...NETWORK, vlan: 12 } });
    expect(made.status).toBe(201);
    const kept = await h.api<Site>('PATCH', `/v1/sites/${made.body.id}`, { network: { router: '10.20.0.2' } }, { 'if-match': etagOf('site', made.body) });
    expect(kept.body.network).toEqual({ ...NETWORK, router: '10.20.0.2', vlan: 12 });
    const res = await h.api<Site>('PATCH', `/v1/sites/${made.body.id}`, { network: { vlan: null } }, { 'if-match': etagOf('site', kept.body) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.network).toEqual({ ...NETWORK, router: '10.20.0.2' });
    expect((await h.api<Site>('GET', `/v1/sites/${made.body.id}`)).body.network).toEqual({ ...NETWORK, router: '10.20.0.2' });
  });

  it('renames a site with a merge patch and bumps its version', async () => {
    const site = await createSite(h.api);
    const res = await h.api<Site>('PATCH', `/v1/sites/${site.id}`, { name: 'Renamed site' }, { 'if-match': etagOf('site', site) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: site.id, name: 'Renamed site', code: site.code, version: site.version + 1 });
    expect(res.headers.etag).toBe(etagOf('site', res.body));
    expect((await h.api<Site>('GET', `/v1/sites/${site.id}`)).body).toEqual(res.body);
  });

  it('deletes an empty site, after which it is gone', async () => {
    const site = await createSite(h.api);
    const res = await h.api('DELETE', `/v1/sites/${site.id}`, undefined, { 'if-match': etagOf('site', site) });
    expect(res.status).toBe(204);
    expect((await h.api('GET', `/v1/sites/${site.id}`)).status).toBe(404);
  });

  it('refuses to delete a site that still has assets', async () => {
    const res = await h.api<Problem>('DELETE', `/v1/sites/${f.site.id}`, undefined, { 'if-match': etagOf('site', await currentSite(f.site.id)) });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    expect((await h.api('GET', `/v1/sites/${f.site.id}`)).status).toBe(200);
  });

  it('lists sites page by page, each exactly once, and filters by code and q', async () => {
    for (let i = 0; i < 3; i++) await createSite(h.api, { code: `PAGE-${i}`, name: `Paging site ${i}` });
    const all = await readAllPages<Site>(h.api, '/v1/sites?limit=500');
    const paged = await readAllPages<Site>(h.api, '/v1/sites?limit=2');
    expect(paged.pages).toBeGreaterThan(2);
    expect(paged.items.map((s) => s.id)).toEqual(all.items.map((s) => s.id));
    expect(new Set(paged.items.map((s) => s.id)).size).toBe(paged.items.length);

    const byCode = await h.api<Page<Site>>('GET', '/v1/sites?code=PAGE-1');
    expect(byCode.body.items.map((s) => s.code)).toEqual(['PAGE-1']);
    const byQ = await h.api<Page<Site>>('GET', '/v1/sites?q=paging%20site');
    expect(byQ.body.items.map((s) => s.code).sort()).toEqual(['PAGE-0', 'PAGE-1', 'PAGE-2']);
  });

  it('shows the whole graph of a site', async () => {
    const res = await h.api<{ site: Site; assets: Asset[]; connections: Connection[] }>('GET', `/v1/sites/${f.site.id}/graph`);
    expect(res.status).toBe(200);
    expect(ids(res.body.assets)).toEqual(ids([f.gateway, f.controller, ...f.meters, ...f.sensors]));
    expect(ids(res.body.connections)).toEqual(ids(f.cables));
  });
});

describe('assets over HTTP', () => {
  it('creates an asset with 201, ETag and location, and reads it back as created', async () => {
    const res = await h.api<Asset>('POST', '/v1/assets', {
      siteId: f.site.id,
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-crud',
      parentId: f.gateway.id,
      port: 'rs485-2',
      config: meterConfig(40),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ siteId: f.site.id, kind: 'meter', name: 'M-crud', status: 'planned', version: 1, configVersion: 1, deployedVersion: null });
    expect(res.body.config).toEqual(meterConfig(40));
    expect(res.headers.etag).toBe(etagOf('asset', res.body));
    expect(res.headers.location).toBe(`/v1/assets/${res.body.id}`);
    expect(await getAsset(h.api, res.body.id)).toEqual(res.body);
  });

  it('gives an asset created without a configuration its model defaults', async () => {
    const meter = await createAsset(h.api, other.site.id, { kind: 'meter', modelId: 'voltis-em-110', name: 'M-defaults', parentId: other.gateway.id, port: 'rs485-2' });
    expect(meter.config).toEqual({ unitId: 1, serial: { baud: 19200, parity: 'even', stopBits: 1 }, pollIntervalMs: 15000, ct: { primaryA: 100, secondary: '5A' }, ratedCurrentA: 80, phases: 1 });
  });

  it('updates an asset with a merge patch: other fields and the rest of the configuration stay', async () => {
    const meter = f.meters[4];
    const res = await h.api<Asset>('PATCH', `/v1/assets/${meter.id}`, { name: 'M-5 (kitchen)', config: { ct: { primaryA: 150 } } }, { 'if-match': etagOf('asset', meter) });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('M-5 (kitchen)');
    expect(res.body.config).toEqual({ ...meterConfig(5), ct: { primaryA: 150, secondary: '5A' } });
    expect(res.body.version).toBe(meter.version + 1);
    expect(res.headers.etag).toBe(etagOf('asset', res.body));
    expect(await getAsset(h.api, meter.id)).toEqual(res.body);
  });

  it('refuses to remove the configuration (config: null) with 422, changing nothing', async () => {
    const meter = f.meters[3];
    const before = await getAsset(h.api, meter.id);
    const res = await h.api<Problem>('PATCH', `/v1/assets/${meter.id}`, { name: 'Renamed', config: null }, { 'if-match': etagOf('asset', before) });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ in: 'body', path: '/config' })]);
    expect(await getAsset(h.api, meter.id)).toEqual(before);
  });

  it('replaces the configuration with PUT …/config', async () => {
    const meter = await getAsset(h.api, f.meters[3].id);
    const config = { ...meterConfig(4), ratedCurrentA: 60, phases: 1 };
    const res = await h.api<Asset>('PUT', `/v1/assets/${meter.id}/config`, config, { 'if-match': etagOf('asset', meter) });
    expect(res.status).toBe(200);
    expect(res.body.config).toEqual(config);
    const read = await h.api<{ configVersion: number; config: object }>('GET', `/v1/assets/${meter.id}/config`);
    expect(read.body).toEqual({ configVersion: meter.configVersion + 1, config });
    expect(read.headers.etag).toBe(etagOf('asset', res.body));
  });

  it('deletes an asset with nothing under it, after which it is gone', async () => {
    const meter = await createAsset(h.api, other.site.id, {
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-delete-me',
      parentId: other.gateway.id,
      port: 'rs485-2',
      config: meterConfig(41),
    });
    const res = await h.api('DELETE', `/v1/assets/${meter.id}`, undefined, { 'if-match': etagOf('asset', meter) });
    expect(res.status).toBe(204);
    expect((await h.api('GET', `/v1/assets/${meter.id}`)).status).toBe(404);
  });

  it('refuses to delete a controller that still has sensors and cables, naming them', async () => {
    const res = await h.api<Problem>('DELETE', `/v1/assets/${f.controller.id}`, undefined, { 'if-match': etagOf('asset', f.controller) });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    const children = res.body.violations?.find((v) => v.code === 'ASSET_HAS_CHILDREN');
    expect(children?.assetIds).toEqual(expect.arrayContaining([f.controller.id, ...f.sensors.map((s) => s.id)]));
    expect(res.body.violations?.some((v) => v.code === 'ASSET_HAS_CABLES')).toBe(true);
    expect((await h.api('GET', `/v1/assets/${f.controller.id}`)).status).toBe(200);
  });
});

describe('asset lists', () => {
  it('pages through a site with each asset exactly once', async () => {
    const all = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&limit=500`);
    const paged = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&limit=3`);
    expect(paged.pages).toBe(Math.ceil(all.items.length / 3));
    expect(paged.items.map((a) => a.id)).toEqual(all.items.map((a) => a.id));
    expect(new Set(paged.items.map((a) => a.id)).size).toBe(paged.items.length);
    expect(paged.items.every((a) => a.siteId === f.site.id)).toBe(true);
    expect(ids(paged.items)).toEqual(expect.arrayContaining(ids([f.gateway, f.controller, ...f.meters, ...f.sensors])));
  });

  it('returns every asset that existed exactly once even when assets are created between pages', async () => {
    const before = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${other.site.id}&limit=500`);
    const first = await h.api<Page<Asset>>('GET', `/v1/assets?siteId=${other.site.id}&limit=2`);
    await createAsset(h.api, other.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-while-paging', parentId: other.gateway.id, port: 'rs485-2', config: meterConfig(70) });
    const rest = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${other.site.id}&limit=2`, first.body.nextCursor);
    const seen = [...first.body.items, ...rest.items].map((a) => a.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(before.items.map((a) => a.id)));
  });

  it('pages through a filtered list with each match exactly once', async () => {
    const paged = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&kind=meter&limit=2`);
    const meters = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&kind=meter&limit=500`);
    expect(paged.items.map((a) => a.id)).toEqual(meters.items.map((a) => a.id));
    expect(paged.items.every((a) => a.kind === 'meter')).toBe(true);
  });

  it('filters by kind', async () => {
    const sensors = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&kind=sensor`);
    expect(ids(sensors.items)).toEqual(ids(f.sensors));
  });

  it('filters by parent', async () => {
    const children = await readAllPages<Asset>(h.api, `/v1/assets?parentId=${f.controller.id}`);
    expect(ids(children.items)).toEqual(ids(f.sensors));
  });

  it('filters by status', async () => {
    const active = await createAsset(h.api, other.site.id, {
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-active',
      status: 'active',
      parentId: other.gateway.id,
      port: 'rs485-2',
      config: meterConfig(50),
    });
    const list = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${other.site.id}&status=active`);
    expect(ids(list.items)).toEqual([active.id]);
    const planned = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${other.site.id}&status=planned`);
    expect(planned.items.map((a) => a.id)).not.toContain(active.id);
  });

  it('finds assets by a substring of their name or serial (q)', async () => {
    const withSerial = await createAsset(h.api, other.site.id, {
      kind: 'meter',
      modelId: 'ampera-pm-5560',
      name: 'Chiller feed',
      serial: 'AMP-778899',
      parentId: other.gateway.id,
      port: null,
      config: ipMeterConfig('10.20.0.60'),
    });
    expect(ids((await readAllPages<Asset>(h.api, `/v1/assets?q=chiller`)).items)).toEqual([withSerial.id]);
    expect(ids((await readAllPages<Asset>(h.api, `/v1/assets?q=778899`)).items)).toEqual([withSerial.id]);
  });

  it('treats % and _ in q as plain characters', async () => {
    const res = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${f.site.id}&q=${encodeURIComponent('%')}`);
    expect(res.items).toEqual([]);
  });

  it('keeps other sites out of a site filter', async () => {
    const list = await readAllPages<Asset>(h.api, `/v1/assets?siteId=${other.site.id}`);
    expect(list.items.every((a) => a.siteId === other.site.id)).toBe(true);
    expect(list.items.map((a) => a.id)).not.toContain(f.gateway.id);
  });

  it('refuses a cursor it did not issue', async () => {
    const res = await h.api<Problem>('GET', '/v1/assets?cursor=not-a-cursor');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_CURSOR');
  });

  it('refuses an edited cursor, and one of another list, as one it did not issue (not as the database refusing it)', async () => {
    const cursor = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
    const meter = f.meters[0];
    const cases: Array<[string, unknown]> = [
      ['/v1/assets', { id: 'x' }],
      ['/v1/assets', { code: f.site.code, id: f.site.id }],
      ['/v1/connections', { id: 'x' }],
      ['/v1/sites', { code: 'A', id: 'not-a-uuid' }],
      ['/v1/sites', { code: 'A\u0000', id: f.site.id }],
      [`/v1/sites/${f.site.id}/changesets`, { at: 'garbage', id: f.site.id }],
      [`/v1/sites/${f.site.id}/changesets`, { at: '2026-13-45T25:61:61.000000Z', id: f.site.id }],
      [`/v1/sites/${f.site.id}/changesets`, { at: '0000-01-01T00:00:00.000000Z', id: f.site.id }],
      [`/v1/assets/${meter.id}/versions`, { v: 99999999999 }],
    ];
    for (const [path, position] of cases) {
      const res = await h.api<Problem>('GET', `${path}?cursor=${cursor(position)}`);
      expect([path, position, res.status, res.body.code]).toEqual([path, position, 400, 'INVALID_CURSOR']);
    }
  });
});

describe("a site's time zone", () => {
  it('is one of the IANA database, spelt as it is there: another case or an unknown zone is 422 on /timezone', async () => {
    for (const timezone of ['EUROPE/BERLIN', 'utc', 'Mars/Olympus']) {
      const res = await h.api<Problem>('POST', '/v1/sites', { code: 'TZ-1', name: 'Time zones', timezone, network: NETWORK });
      expect([timezone, res.status, res.body.errors]).toEqual([timezone, 422, [expect.objectContaining({ in: 'body', path: '/timezone', message: expect.stringContaining('IANA') })]]);
    }
    const site = await getSite(h.api, f.site.id);
    const patch = await h.api<Problem>('PATCH', `/v1/sites/${site.id}`, { timezone: 'europe/paris' }, { 'if-match': etagOf('site', site) });
    expect(patch.status).toBe(422);
  });
});

describe('numbers beyond the range of a double', () => {
  it('are refused (1e999 parses as Infinity, which would be stored as null), and nothing changes', async () => {
    const sensor = await getAsset(h.api, f.sensors[0].id);
    const send = (method: 'PATCH' | 'POST', url: string, payload: string, headers: Record<string, string> = {}) =>
      h.server.app.inject({ method, url, payload, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers } });
    const patch = await send('PATCH', `/v1/assets/${sensor.id}`, '{"config":{"range":{"min":-1e999}}}', { 'if-match': `"asset-${sensor.id}-v${sensor.version}"` });
    expect(patch.statusCode).toBe(422);
    expect(patch.json().errors).toEqual([expect.objectContaining({ in: 'body', path: '/config/range/min', message: expect.stringContaining('finite number') })]);
    const changeset = await send(
      'POST',
      `/v1/sites/${f.site.id}/changesets`,
      `{"operations":[{"op":"updateAsset","id":"${sensor.id}","expectedVersion":${sensor.version},"patch":{"config":{"range":{"max":1e999}}}}]}`,
    );
    expect(changeset.statusCode).toBe(422);
    expect(await getAsset(h.api, sensor.id)).toEqual(sensor);
  });
});

describe('connections over HTTP', () => {
  it('creates, reads, relabels and removes a cable', async () => {
    const meter = await createAsset(h.api, other.site.id, {
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-cabled',
      parentId: other.gateway.id,
      port: 'rs485-2',
      config: meterConfig(60),
    });
    const created = await h.api<Connection>('POST', '/v1/connections', {
      siteId: other.site.id,
      a: { assetId: other.gateway.id, port: 'rs485-2' },
      b: { assetId: meter.id, port: 'com' },
      label: 'K-new',
      lengthM: 12.5,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ siteId: other.site.id, label: 'K-new', lengthM: 12.5, version: 1 });
    expect(created.headers.etag).toBe(etagOf('connection', created.body));
    expect(created.headers.location).toBe(`/v1/connections/${created.body.id}`);
    expect((await h.api<Connection>('GET', `/v1/connections/${created.body.id}`)).body).toEqual(created.body);

    const patched = await h.api<Connection>('PATCH', `/v1/connections/${created.body.id}`, { label: 'K-renamed', lengthM: 14 }, { 'if-match': etagOf('connection', created.body) });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ label: 'K-renamed', lengthM: 14, version: 2 });
    expect((await h.api<Connection>('GET', `/v1/connections/${created.body.id}`)).body).toEqual(patched.body);

    const removed = await h.api('DELETE', `/v1/connections/${created.body.id}`, undefined, { 'if-match': etagOf('connection', patched.body) });
    expect(removed.status).toBe(204);
    expect((await h.api('GET', `/v1/connections/${created.body.id}`)).status).toBe(404);
  });

  it('refuses a cable to a port the model does not have', async () => {
    const res = await h.api<Problem>('POST', '/v1/connections', {
      siteId: f.site.id,
      a: { assetId: f.gateway.id, port: 'rs485-9' },
      b: { assetId: f.meters[0].id, port: 'com' },
      lengthM: 3,
    });
    expect(res.status).toBe(409);
    expect(res.body.violations?.map((v) => v.code)).toContain('CABLE_PORT_UNKNOWN');
  });

  it('lists cables page by page, by site and by an asset at either end', async () => {
    const paged = await readAllPages<Connection>(h.api, `/v1/connections?siteId=${f.site.id}&limit=2`);
    expect(paged.pages).toBeGreaterThan(1);
    expect(ids(paged.items)).toEqual(ids(f.cables));
    expect(new Set(paged.items.map((c) => c.id)).size).toBe(paged.items.length);

    const m2 = f.meters[1].id;
    const ofMeter = await readAllPages<Connection>(h.api, `/v1/connections?assetId=${m2}`);
    expect(ids(ofMeter.items)).toEqual(ids(f.cables.filter((c) => c.a.assetId === m2 || c.b.assetId === m2)));
    expect(ofMeter.items).toHaveLength(2); // the daisy chain comes in and goes out
  });

  it('connects and disconnects the same pair again without trouble', async () => {
    const sensor = f.sensors[2];
    const cable = f.cables.find((c) => c.a.assetId === sensor.id);
    if (!cable) throw new Error('fixture has no cable for the sensor');
    expect((await h.api('DELETE', `/v1/connections/${cable.id}`, undefined, { 'if-match': etagOf('connection', cable) })).status).toBe(204);
    const again = await connect(h.api, f.site.id, [sensor.id, 'out'], [f.controller.id, 'ui-3'], 'K-T3b', 5);
    f.cables = f.cables.map((c) => (c.id === cable.id ? again : c));
  });
});

describe('unknown ids answer 404 problem+json', () => {
  const missing = randomUUID();
  const asset = etagOf('asset', { id: missing, version: 1 });
  const cases: Array<{ method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; ifMatch?: string; body?: object }> = [
    { method: 'GET', url: `/v1/sites/${missing}` },
    { method: 'GET', url: `/v1/sites/${missing}/graph` },
    { method: 'GET', url: `/v1/assets/${missing}` },
    { method: 'GET', url: `/v1/assets/${missing}/config` },
    { method: 'GET', url: `/v1/assets/${missing}/versions` },
    { method: 'GET', url: `/v1/assets/${missing}/versions/1` },
    { method: 'GET', url: `/v1/connections/${missing}` },
    { method: 'GET', url: `/v1/changesets/${missing}` },
    { method: 'GET', url: `/v1/sites/${missing}/changesets` },
    { method: 'POST', url: `/v1/sites/${missing}/validate` },
    { method: 'PATCH', url: `/v1/assets/${missing}`, ifMatch: asset, body: { name: 'x' } },
    { method: 'DELETE', url: `/v1/assets/${missing}`, ifMatch: asset },
    { method: 'PATCH', url: `/v1/connections/${missing}`, ifMatch: etagOf('connection', { id: missing, version: 1 }), body: { label: 'x' } },
    { method: 'PATCH', url: `/v1/sites/${missing}`, ifMatch: etagOf('site', { id: missing, version: 1 }), body: { name: 'x' } },
    { method: 'DELETE', url: `/v1/sites/${missing}`, ifMatch: etagOf('site', { id: missing, version: 1 }) },
  ];
  it.each(cases)('$method $url', async ({ method, url, ifMatch, body }) => {
    const res = await h.api<Problem>(method, url, body, ifMatch ? { 'if-match': ifMatch } : {});
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND', type: 'https://rema.dev/problems/not-found' });
  });

  it('answers 404 to a change set on an unknown site and to an asset of an unknown site', async () => {
    const cs = await h.api<Problem>('POST', `/v1/sites/${missing}/changesets`, { operations: [{ op: 'updateSite', expectedVersion: 1, patch: { name: 'x' } }] });
    expect(cs.status).toBe(404);
    const asset = await h.api<Problem>('POST', '/v1/assets', { siteId: missing, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-x' });
    expect(asset.status).toBe(404);
    expect(asset.body.code).toBe('NOT_FOUND');
  });
});

describe('authentication', () => {
  it('refuses a request without a token with 401', async () => {
    const res = await h.apiAs(null)<Problem>('GET', `/v1/sites/${f.site.id}`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a request with a wrong token with 401 and writes nothing', async () => {
    const res = await h.apiAs('not-the-token')<Problem>('POST', '/v1/sites', { code: 'NOPE-1', name: 'x', timezone: 'UTC', network: NETWORK });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect((await h.api<Page<Site>>('GET', '/v1/sites?code=NOPE-1')).body.items).toEqual([]);
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await h.apiAs(null)<Problem>('GET', '/v1/assets', undefined, { authorization: 'Basic dXNlcjpwdw==' });
    expect(res.status).toBe(401);
  });
});

async function currentSite(id: string): Promise<Site> {
  return (await h.api<Site>('GET', `/v1/sites/${id}`)).body;
}
