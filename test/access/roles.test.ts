/**
 * What each role may do, where: a site-bound engineer configures their site only, a viewer
 * reads and writes nothing, an auditor reads the audit log of their scope, an operator moves
 * devices and deploys, another tenant sees nothing — and the audit log names the real actor.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/principal.ts';
import { etagOf, expectStatus, gatewayConfig, type Api, type Asset, type AuditEvent, type Page, type Problem, type Site } from '../api/helpers.ts';
import { buildAccessFixture, deviceTag, type AccessFixture, type Device } from './fixture.ts';

let f: AccessFixture;
beforeAll(async () => {
  f = await buildAccessFixture();
});
afterAll(() => f?.h.close());

let ip = 100;
const newGateway = (siteId: string) => ({ siteId, kind: 'gateway', modelId: 'nexa-gw-200', name: `GW-${randomUUID().slice(0, 6)}`, config: gatewayConfig(`10.20.0.${ip++}`, `gw-${ip}`) });
const serial = () => `ROLE-${randomUUID().slice(0, 8)}`;

/** The API as a fresh user of organisation A holding `bindings`, and that user's id. */
async function userOfA(bindings: Array<{ role: Role; siteId?: string }>): Promise<{ api: Api; id: string; token: string }> {
  const token = await f.h.server.tokenFor(bindings, { orgId: f.orgA });
  const api = f.h.apiAs(token);
  const me = expectStatus(await api<{ id: string }>('GET', '/v1/auth/me'), 200, 'me');
  return { api, id: me.id, token };
}

const forbidden = (res: { status: number; body: unknown }, permission: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(res.body).toMatchObject({ code: 'FORBIDDEN', permission });
};

describe('an engineer bound to one site', () => {
  it('configures that site, and nothing of another site is there for them', async () => {
    const { api } = await userOfA([{ role: 'engineer', siteId: f.site1.id }]);
    const gw = expectStatus(await api<Asset>('POST', '/v1/assets', newGateway(f.site1.id)), 201, 'gateway in their site');
    expectStatus(await api<Asset>('PATCH', `/v1/assets/${gw.id}`, { name: `${gw.name}-b` }, { 'if-match': etagOf('asset', gw) }), 200, 'rename');
    const cs = await api('POST', `/v1/sites/${f.site1.id}/changesets`, { operations: [{ op: 'deleteAsset', id: gw.id, expectedVersion: gw.version + 1 }] });
    expect(cs.status).toBe(201);

    const elsewhere = await api<Problem>('POST', '/v1/assets', newGateway(f.site2.id));
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.detail).toBe(`Site ${f.site2.id} does not exist.`);
    expect((await api('POST', `/v1/sites/${f.site2.id}/changesets`, { operations: [{ op: 'updateSite', expectedVersion: 1, patch: { name: 'x' } }] })).status).toBe(404);
    expect((await api('GET', `/v1/sites/${f.site2.id}`)).status).toBe(404);

    const sites = expectStatus(await api<Page<Site>>('GET', '/v1/sites?limit=200'), 200, 'sites');
    expect(sites.items.map((s) => s.id)).toEqual([f.site1.id]);
    const assets = expectStatus(await api<Page<Asset>>('GET', '/v1/assets?limit=200'), 200, 'assets');
    expect(assets.items.length).toBeGreaterThan(0);
    expect(assets.items.every((a) => a.siteId === f.site1.id)).toBe(true);
    expect((await api<Page<Asset>>('GET', `/v1/assets?siteId=${f.site2.id}`)).body.items).toEqual([]);
  });

  it('does not manage the site itself: renaming it, also inside a change set, needs sites.manage', async () => {
    const { api } = await userOfA([{ role: 'engineer', siteId: f.site1.id }]);
    const site = expectStatus(await api<Site>('GET', `/v1/sites/${f.site1.id}`), 200, 'site');
    forbidden(await api('PATCH', `/v1/sites/${site.id}`, { name: 'mine now' }, { 'if-match': etagOf('site', site) }), 'sites.manage');
    forbidden(await api('POST', `/v1/sites/${site.id}/changesets`, { operations: [{ op: 'updateSite', expectedVersion: site.version, patch: { name: 'mine now' } }] }), 'sites.manage');
    // Creating a site, or a device in stock, acts on the organisation, where a site binding holds nothing (as for a missing one); the audit log is not theirs either.
    const newSite = await api<Problem>('POST', '/v1/sites', { code: `E-${randomUUID().slice(0, 6).toUpperCase()}`, name: 'x', timezone: 'UTC', network: { subnet: '10.1.0.0/24', router: '10.1.0.1' } });
    expect(newSite.status).toBe(404);
    expect(newSite.body.detail).toBe(`Organisation ${f.orgA} does not exist.`);
    expect((await api('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' })).status).toBe(404);
    forbidden(await api('GET', '/v1/audit'), 'audit.read');
  });
});

describe('a viewer', () => {
  it('reads the whole organisation and writes nothing: no asset, cable, change set (not even a dry run), device or deployment', async () => {
    const { api } = await userOfA([{ role: 'viewer' }]);
    for (const url of [`/v1/sites/${f.site2.id}`, `/v1/assets/${f.meter.id}`, `/v1/devices/${f.stockDevice.id}`, `/v1/assets/${f.meter.id}/history`, `/v1/sites/${f.site1.id}/changesets`]) {
      expect((await api('GET', url)).status, url).toBe(200);
    }
    const devices = expectStatus(await api<Page<Device>>('GET', '/v1/devices?limit=200'), 200, 'devices');
    expect(devices.items.map((d) => d.id)).toEqual(expect.arrayContaining([f.stockDevice.id, f.installedDevice.id]));

    forbidden(await api('POST', '/v1/assets', newGateway(f.site1.id)), 'config.write');
    forbidden(await api('PATCH', `/v1/assets/${f.meter.id}`, { name: 'x' }, { 'if-match': etagOf('asset', f.meter) }), 'config.write');
    forbidden(await api('POST', `/v1/sites/${f.site1.id}/changesets?dryRun=true`, { operations: [{ op: 'updateAsset', id: f.meter.id, expectedVersion: f.meter.version, patch: { name: 'x' } }] }), 'config.write');
    forbidden(await api('PATCH', `/v1/connections/${f.cable.id}`, { label: 'x' }, { 'if-match': etagOf('connection', f.cable) }), 'config.write');
    forbidden(await api('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' }), 'lifecycle.write');
    forbidden(await api('POST', `/v1/devices/${f.installedDevice.id}/transitions`, { transition: 'report_fault' }, { 'if-match': deviceTag(f.installedDevice) }), 'lifecycle.write');
    forbidden(await api('POST', '/v1/deployments', { siteId: f.site1.id }), 'deploy');
    forbidden(await api('GET', '/v1/audit'), 'audit.read');
    expect(expectStatus(await api<Asset>('GET', `/v1/assets/${f.meter.id}`), 200, 'meter').version).toBe(f.meter.version);
  });
});

describe('an auditor', () => {
  it('bound to a site reads that site’s audit log only, and verifies only its chain', async () => {
    const { api } = await userOfA([{ role: 'auditor', siteId: f.site1.id }]);
    const events = expectStatus(await api<Page<AuditEvent>>('GET', '/v1/audit?limit=1000'), 200, 'audit').items;
    expect(events.length).toBeGreaterThan(5);
    expect(events.every((e) => e.siteId === f.site1.id)).toBe(true);
    expect((await api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site2.id}`)).body.items).toEqual([]);
    expect((await api<Page<AuditEvent>>('GET', `/v1/audit?orgId=${f.orgB}`)).body.items).toEqual([]);
    const ndjson = await api('GET', '/v1/audit?format=ndjson');
    const lines = ndjson.text.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(lines.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());

    const verify = expectStatus(await api<{ ok: boolean; scopes: number; events: number }>('GET', '/v1/audit/verify'), 200, 'verify');
    expect(verify).toMatchObject({ ok: true, scopes: 1, events: events.length });
    expect((await api('GET', `/v1/audit/verify?siteId=${f.site2.id}`)).body).toMatchObject({ ok: true, scopes: 0, events: 0 });
  });

  it('org-wide reads every site’s and the organisation’s events, and writes nothing', async () => {
    const { api } = await userOfA([{ role: 'auditor' }]);
    const events = expectStatus(await api<Page<AuditEvent>>('GET', '/v1/audit?limit=1000'), 200, 'audit').items;
    const sites = new Set(events.map((e) => e.siteId));
    expect(sites).toEqual(new Set([f.site1.id, f.site2.id, null]));
    expect(events.some((e) => e.entityId === f.stockDevice.id)).toBe(true);
    expect(events.every((e) => e.orgId === f.orgA)).toBe(true);
    forbidden(await api('PATCH', `/v1/assets/${f.meter.id}`, { name: 'x' }, { 'if-match': etagOf('asset', f.meter) }), 'config.write');
    forbidden(await api('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' }), 'lifecycle.write');
  });
});

describe('an operator bound to one site', () => {
  it('moves the devices of that site and deploys there, but configures nothing and sees no stock', async () => {
    const { api } = await userOfA([{ role: 'operator', siteId: f.site1.id }]);
    const apiA = f.as('adminA');
    const d = expectStatus(await apiA<Device>('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' }), 201, 'register');

    // In stock the device is the organisation's: not theirs to see or take.
    expect((await api('GET', `/v1/devices/${d.id}`)).status).toBe(404);
    expect((await api<Page<Device>>('GET', '/v1/devices?limit=200')).body.items.map((x) => x.id)).not.toContain(d.id);
    const take = await api<Problem>('POST', `/v1/devices/${d.id}/transitions`, { transition: 'install', assetId: f.equip.meters[1].id }, { 'if-match': deviceTag(d) });
    expect(take.status).toBe(404);
    expect(take.body.detail).toBe(`Device ${d.id} does not exist.`);

    // Once installed at their site it is theirs.
    const installed = expectStatus(
      await apiA<Device>('POST', `/v1/devices/${d.id}/transitions`, { transition: 'install', assetId: f.equip.meters[1].id }, { 'if-match': deviceTag(d) }),
      200,
      'install',
    );
    const faulty = expectStatus(await api<Device>('POST', `/v1/devices/${d.id}/transitions`, { transition: 'report_fault' }, { 'if-match': deviceTag(installed) }), 200, 'report fault');
    expect(faulty.state).toBe('faulty');

    // Deploying passes authorisation (503: this server has no broker); elsewhere the site does not exist.
    expect((await api<Problem>('POST', '/v1/deployments', { siteId: f.site1.id })).body.code).toBe('SERVICE_UNAVAILABLE');
    expect((await api('POST', '/v1/deployments', { siteId: f.site2.id })).status).toBe(404);
    forbidden(await api('POST', '/v1/assets', newGateway(f.site1.id)), 'config.write');
  });

  it('org-wide installs from stock, but not at an asset of a site it cannot see: that asset does not exist', async () => {
    const { api } = await userOfA([{ role: 'operator' }]);
    const d = expectStatus(await api<Device>('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' }), 201, 'register');
    expect(d.orgId).toBe(f.orgA);

    const adminB = f.as('adminB');
    const bDevice = expectStatus(await adminB<Device>('POST', '/v1/devices', { serial: serial(), modelId: 'voltis-em-340', firmware: '1.0.0' }), 201, 'B registers');
    expect(bDevice.orgId).toBe(f.orgB);
    const intoA = await adminB<Problem>('POST', `/v1/devices/${bDevice.id}/transitions`, { transition: 'install', assetId: f.equip.meters[1].id }, { 'if-match': deviceTag(bDevice) });
    const ghost = randomUUID();
    const nowhere = await adminB<Problem>('POST', `/v1/devices/${bDevice.id}/transitions`, { transition: 'install', assetId: ghost }, { 'if-match': deviceTag(bDevice) });
    expect(intoA.status).toBe(409);
    expect(intoA.body.violations?.map((v) => v.code)).toEqual(['ASSET_NOT_FOUND']);
    expect(intoA.body.violations?.[0].message.replaceAll(f.equip.meters[1].id, ghost)).toBe(nowhere.body.violations?.[0].message);
    // Nor may it judge A's asset as a target.
    const verdicts = expectStatus(await adminB<{ items: Array<{ transition: string; violations: Array<{ code: string }> }> }>('GET', `/v1/devices/${bDevice.id}/transitions?assetId=${f.equip.meters[1].id}`), 200, 'verdicts');
    expect(verdicts.items.find((v) => v.transition === 'install')?.violations.map((v) => v.code)).toEqual(['ASSET_NOT_FOUND']);
    // …and A's device in stock is no replacement for B.
    expect((await adminB('GET', `/v1/devices/${d.id}`)).status).toBe(404);
  });
});

describe('another tenant', () => {
  it('creates in its own organisation and counts only its own devices', async () => {
    const adminB = f.as('adminB');
    const site = expectStatus(await adminB<Site>('POST', '/v1/sites', { code: `B-${randomUUID().slice(0, 6).toUpperCase()}`, name: 'B site', timezone: 'UTC', network: { subnet: '10.9.0.0/24', router: '10.9.0.1' } }), 201, 'B site');
    expect(site.orgId).toBe(f.orgB);
    expect((await adminB<Page<Site>>('GET', '/v1/sites')).body.items.map((s) => s.id)).toEqual([site.id]);

    type Release = { modelId: string; version: string; devices: number };
    const count = async (api: Api) => (await api<{ items: Release[] }>('GET', '/v1/firmware?modelId=voltis-em-340')).body.items.find((r) => r.version === '1.0.0')?.devices;
    const inA = (await f.h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycle.devices WHERE org_id = $1 AND model_id = 'voltis-em-340' AND firmware = '1.0.0' AND state NOT IN ('decommissioned', 'rma')`, [f.orgA])).rows[0].n;
    const inB = (await f.h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycle.devices WHERE org_id = $1 AND model_id = 'voltis-em-340' AND firmware = '1.0.0' AND state NOT IN ('decommissioned', 'rma')`, [f.orgB])).rows[0].n;
    expect(inA).toBeGreaterThan(0);
    expect(await count(f.as('adminA'))).toBe(inA);
    expect(await count(adminB)).toBe(inB);
  });

  it('audits and verifies only its own organisation', async () => {
    const adminB = f.as('adminB');
    const events = expectStatus(await adminB<Page<AuditEvent>>('GET', '/v1/audit?limit=1000'), 200, 'B audit').items;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.orgId === f.orgB)).toBe(true);
    expect((await adminB<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site1.id}`)).body.items).toEqual([]);
    const verify = expectStatus(await adminB<{ ok: boolean; events: number }>('GET', '/v1/audit/verify'), 200, 'verify');
    const { rows } = await f.h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.events WHERE org_id = $1`, [f.orgB]);
    expect(verify.events).toBe(rows[0].n);
  });
});

describe('the audit actor', () => {
  it('is the user who wrote, or the API token on behalf of its user', async () => {
    const engineer = await userOfA([{ role: 'engineer' }]);
    const gw = expectStatus(await engineer.api<Asset>('POST', '/v1/assets', newGateway(f.site2.id)), 201, 'as user');
    const token = expectStatus(await engineer.api<{ id: string; secret: string }>('POST', '/v1/tokens', { name: 'robot' }), 201, 'token');
    expectStatus(await f.h.apiAs(token.secret)('PATCH', `/v1/assets/${gw.id}`, { name: `${gw.name}-t` }, { 'if-match': etagOf('asset', gw) }), 200, 'as token');

    const history = expectStatus(await f.as('viewer')<Page<AuditEvent>>('GET', `/v1/assets/${gw.id}/history`), 200, 'history').items;
    expect(history.map((e) => [e.action, e.actor])).toEqual([
      ['update', { type: 'token', id: token.id, name: 'robot', onBehalfOf: { type: 'user', id: engineer.id, name: 'Fixture user' } }],
      ['create', { type: 'user', id: engineer.id, name: 'Fixture user' }],
    ]);
  });
});
