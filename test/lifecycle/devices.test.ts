import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/http/errors.ts';
import {
  actorIdOf,
  buildSite,
  createAsset,
  createSite,
  etagOf,
  gatewayConfig,
  getAsset,
  meterConfig,
  type Page,
  type Problem,
  readAllPages,
  type SiteFixture,
  TOKEN,
} from '../api/helpers.ts';
import {
  auditOfDevice,
  bringIntoService,
  deployAndReport,
  type Device,
  deviceTag,
  getDevice,
  markDeployed,
  newSerial,
  registerDevice,
  report,
  transition,
  walk,
} from './devices-fixtures.ts';
import { startLifecycleHarness, type LifecycleHarness } from './harness.ts';

let h: LifecycleHarness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startLifecycleHarness();
  f = await buildSite(h.api, { meters: 3, sensors: 2 });
});
afterAll(() => h?.close());

const METER = 'voltis-em-340';
const codesOf = (p: Problem) => (p.violations ?? []).map((v) => v.code).sort();

/** A site of its own, so slots and dependents of one test do not meet another's. */
async function freshSite(meters = 2) {
  return buildSite(h.api, { meters, sensors: 1 });
}

describe('registering devices', () => {
  it('registers a device in stock with its ETag and location, and audits it in its organisation', async () => {
    const serial = newSerial();
    const res = await h.api<Device>('POST', '/v1/devices', { serial, modelId: METER, firmware: '1.3.0' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ serial, modelId: METER, firmware: '1.3.0', state: 'in_stock', siteId: null, assetId: null, version: 1 });
    expect(res.headers.etag).toBe(`"device-${res.body.id}-v1"`);
    expect(res.headers.location).toBe(`/v1/devices/${res.body.id}`);
    const got = await h.api<Device>('GET', `/v1/devices/${res.body.id}`);
    expect(got.body).toEqual(res.body);
    expect(got.headers.etag).toBe(res.headers.etag);
    const [event] = await auditOfDevice(h.api, res.body.id);
    expect(event).toMatchObject({ service: 'lifecycle', action: 'create', outcome: 'applied', entityType: 'device', scope: `org:${res.body.orgId}`, before: null, after: res.body });
  });

  it('refuses a serial another device has, whatever its case and spacing, and audits the refusal', async () => {
    const first = await registerDevice(h.api, METER, '1.0.0');
    const res = await h.api<Problem>('POST', '/v1/devices', { serial: first.serial.toLowerCase(), modelId: 'voltis-em-110', firmware: '1.0.0' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    expect(res.body.violations).toEqual([expect.objectContaining({ rule: 'device-serial-unique', code: 'SERIAL_TAKEN', path: '/serial' })]);
    const refused = await h.api<Page<{ after: { serial: string }; violations: Array<{ code: string }> }>>('GET', '/v1/audit?entityType=device&action=create&outcome=refused&limit=100');
    const event = refused.body.items.find((e) => e.after.serial === first.serial.toLowerCase());
    expect(event?.violations).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN' })]);
    expect((await h.api<Page<Device>>('GET', `/v1/devices?serial=${first.serial}`)).body.items).toHaveLength(1);
  });

  it('refuses a model the catalog does not have and a firmware the model never published (422 on the field)', async () => {
    const model = await h.api<Problem>('POST', '/v1/devices', { serial: newSerial(), modelId: 'acme-nothing', firmware: '1.0.0' });
    expect(model.status).toBe(422);
    expect(model.body.errors).toEqual([expect.objectContaining({ in: 'body', path: '/modelId' })]);
    const firmware = await h.api<Problem>('POST', '/v1/devices', { serial: newSerial(), modelId: METER, firmware: '9.9.9' });
    expect(firmware.status).toBe(422);
    expect(firmware.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path: '/firmware' })] });
  });

  it('refuses malformed bodies with every failing field', async () => {
    const res = await h.api<Problem>('POST', '/v1/devices', { serial: ' bad serial', modelId: '', firmware: 'latest', colour: 'red' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((res.body.errors ?? []).length).toBeGreaterThanOrEqual(3);
  });

  it('answers 404 for an unknown device and 422 for an id that is not one', async () => {
    expect((await h.api<Problem>('GET', `/v1/devices/${randomUUID()}`)).body.code).toBe('NOT_FOUND');
    expect((await h.api<Problem>('GET', '/v1/devices/not-a-uuid')).status).toBe(422);
  });
});

describe('listing devices', () => {
  it('pages through every device exactly once and filters by model, serial, q, state, site and asset', async () => {
    const tag = `LST${randomUUID().slice(0, 4).toUpperCase()}`;
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await registerDevice(h.api, 'voltis-em-110', '1.2.0', `${tag}-${i}`));
    const all = await readAllPages<Device>(h.api, `/v1/devices?q=${tag}&limit=2`);
    expect(all.pages).toBe(3);
    expect(all.items.map((d) => d.id).sort()).toEqual(made.map((d) => d.id).sort());

    expect((await h.api<Page<Device>>('GET', `/v1/devices?serial=${tag.toLowerCase()}-3`)).body.items.map((d) => d.id)).toEqual([made[3].id]);
    const byModel = await readAllPages<Device>(h.api, '/v1/devices?modelId=voltis-em-110&limit=500');
    expect(byModel.items.every((d) => d.modelId === 'voltis-em-110')).toBe(true);

    const s = await freshSite(1);
    const meter = await registerDevice(h.api, METER, '2.0.1', `${tag}-M`);
    await walk(h.api, meter, [['install', { assetId: s.meters[0].id }]]);
    const bySite = (await h.api<Page<Device>>('GET', `/v1/devices?siteId=${s.site.id}`)).body.items;
    expect(bySite.map((d) => d.id)).toEqual([meter.id]);
    expect((await h.api<Page<Device>>('GET', `/v1/devices?assetId=${s.meters[0].id}`)).body.items.map((d) => d.id)).toEqual([meter.id]);
    const inStock = await readAllPages<Device>(h.api, `/v1/devices?q=${tag}&state=in_stock`);
    expect(inStock.items).toHaveLength(5);
    expect((await h.api<Problem>('GET', '/v1/devices?state=lost')).status).toBe(422);
  });

  it('rejects a cursor it did not issue', async () => {
    const res = await h.api<Problem>('GET', '/v1/devices?cursor=garbage!');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_CURSOR');
  });
});

describe('changing a device (PATCH)', () => {
  it('needs If-Match: 428 without it, 412 with a stale one (with the current ETag)', async () => {
    const d = await registerDevice(h.api, METER, '1.0.0');
    const missing = await h.api<Problem>('PATCH', `/v1/devices/${d.id}`, { firmware: '1.3.0' });
    expect(missing.status).toBe(428);
    expect(expectOk(await h.api('PATCH', `/v1/devices/${d.id}`, { firmware: '1.3.0' }, { 'if-match': deviceTag(d) }))).toMatchObject({ version: 2 });
    const stale = await h.api<Problem>('PATCH', `/v1/devices/${d.id}`, { firmware: '2.0.1' }, { 'if-match': deviceTag(d) });
    expect(stale.status).toBe(412);
    expect(stale.body.currentEtag).toBe(`"device-${d.id}-v2"`);
  });

  it('upgrades the firmware to a published release and audits before and after', async () => {
    const d = await registerDevice(h.api, METER, '1.0.0');
    const res = await h.api<Device>('PATCH', `/v1/devices/${d.id}`, { firmware: '2.0.1', comment: 'field upgrade' }, { 'if-match': deviceTag(d), 'content-type': 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ firmware: '2.0.1', version: 2 });
    expect(res.headers.etag).toBe(deviceTag(res.body));
    const [event] = await auditOfDevice(h.api, d.id, { action: 'update' });
    expect(event).toMatchObject({ outcome: 'applied', comment: 'field upgrade', before: { firmware: '1.0.0' }, after: { firmware: '2.0.1' } });
  });

  it('refuses an unpublished firmware (422) and a serial another device has (409)', async () => {
    const a = await registerDevice(h.api, METER, '1.0.0');
    const b = await registerDevice(h.api, METER, '1.0.0');
    expect((await h.api<Problem>('PATCH', `/v1/devices/${a.id}`, { firmware: '1.9.9' }, { 'if-match': deviceTag(a) })).status).toBe(422);
    const taken = await h.api<Problem>('PATCH', `/v1/devices/${a.id}`, { serial: b.serial }, { 'if-match': deviceTag(a) });
    expect(taken.status).toBe(409);
    expect(codesOf(taken.body)).toEqual(['SERIAL_TAKEN']);
    expect(await getDevice(h.api, a.id)).toEqual(a);
  });
});

describe('the firmware catalog', () => {
  it('lists the published releases of a model with the features each enables and how many devices run it', async () => {
    await registerDevice(h.api, 'orbis-edge-10', '1.2.0');
    const res = await h.api<{ items: Array<{ modelId: string; version: string; latest: boolean; capabilities: string[]; devices: number }> }>('GET', '/v1/firmware?modelId=orbis-edge-10');
    expect(res.status).toBe(200);
    expect(res.body.items.map((r) => r.version)).toEqual(['1.0.0', '1.2.0', '1.3.5']);
    expect(res.body.items.find((r) => r.version === '1.0.0')?.capabilities).toEqual(['modbus-rtu', 'mqtt']);
    expect(res.body.items.find((r) => r.version === '1.2.0')).toMatchObject({ capabilities: ['modbus-rtu', 'mqtt', 'modbus-tcp'], devices: 1, latest: false });
    expect(res.body.items.find((r) => r.version === '1.3.5')?.latest).toBe(true);
    const all = await h.api<{ items: Array<{ modelId: string }> }>('GET', '/v1/firmware');
    expect(new Set(all.body.items.map((r) => r.modelId)).size).toBeGreaterThan(5);
  });
});

describe('install', () => {
  it('binds the device to the asset, records its firmware on the asset and audits it in the site with actor and request id', async () => {
    const s = await freshSite();
    const d = await registerDevice(h.api, METER, '1.3.0');
    const res = await transition(h.api, d, 'install', { assetId: s.meters[0].id, comment: 'mounted in cabinet 2' }, { 'x-request-id': 'req-install-1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'installed', siteId: s.site.id, assetId: s.meters[0].id, version: 2 });
    expect(res.headers.etag).toBe(deviceTag(res.body));
    expect((await getAsset(h.api, s.meters[0].id)).firmware).toBe('1.3.0');
    const [event] = await auditOfDevice(h.api, d.id, { action: 'install' });
    expect(event).toMatchObject({
      service: 'lifecycle',
      outcome: 'applied',
      scope: `site:${s.site.id}`,
      siteId: s.site.id,
      requestId: 'req-install-1',
      comment: 'mounted in cabinet 2',
      actor: { id: actorIdOf(TOKEN) },
      before: { ...d, state: 'in_stock' },
      after: res.body,
    });
  });

  it('is refused when another device fills the slot; nothing changes and the refusal is audited', async () => {
    const s = await freshSite();
    const first = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, first, [['install', { assetId: s.meters[0].id }]]);
    const second = await registerDevice(h.api, METER, '1.0.0');
    const res = await transition<Problem>(h.api, second, 'install', { assetId: s.meters[0].id });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT_RULES');
    expect(res.body.violations).toEqual([expect.objectContaining({ rule: 'lifecycle-guard', code: 'SLOT_TAKEN', assetIds: [s.meters[0].id], severity: 'error' })]);
    expect(await getDevice(h.api, second.id)).toEqual(second);
    const [refusal] = await auditOfDevice(h.api, second.id, { outcome: 'refused' });
    expect(refusal).toMatchObject({ action: 'install', scope: `site:${s.site.id}`, violations: [expect.objectContaining({ code: 'SLOT_TAKEN' })] });
  });

  it('reports every failing guard at once: another model, a retired asset, a filled slot', async () => {
    const s = await freshSite();
    const holder = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, holder, [['install', { assetId: s.meters[1].id }]]);
    const asset = await getAsset(h.api, s.meters[1].id);
    expect((await h.api('PATCH', `/v1/assets/${asset.id}`, { status: 'retired' }, { 'if-match': etagOf('asset', asset) })).status).toBe(200);
    const wrong = await registerDevice(h.api, 'voltis-em-110', '1.0.0');
    const res = await transition<Problem>(h.api, wrong, 'install', { assetId: asset.id });
    expect(res.status).toBe(409);
    expect(codesOf(res.body)).toEqual(['ASSET_RETIRED', 'MODEL_MISMATCH', 'SLOT_TAKEN']);
  });

  it('is refused for an asset that does not exist, and needs an asset id (422 without, or with another transition)', async () => {
    const d = await registerDevice(h.api, METER, '1.0.0');
    const ghost = await transition<Problem>(h.api, d, 'install', { assetId: randomUUID() });
    expect(ghost.status).toBe(409);
    expect(codesOf(ghost.body)).toEqual(['ASSET_NOT_FOUND']);
    const none = await transition<Problem>(h.api, d, 'install');
    expect(none.status).toBe(422);
    expect(none.body.errors).toEqual([expect.objectContaining({ path: '/assetId' })]);
    expect((await transition<Problem>(h.api, d, 'report_fault', { assetId: f.meters[0].id })).status).toBe(422);
  });

  it('is refused with the configuration rules’ violations when the firmware lacks a feature the asset’s configuration uses', async () => {
    const site = await createSite(h.api);
    const config = { ...gatewayConfig('10.20.0.10', 'gw-bacnet'), protocols: ['modbus-rtu', 'mqtt', 'bacnet-ip'] };
    const gw = await createAsset(h.api, site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-BACNET', config });
    const old = await registerDevice(h.api, 'nexa-gw-200', '1.4.2');
    const res = await transition<Problem>(h.api, old, 'install', { assetId: gw.id });
    expect(res.status).toBe(409);
    expect(res.body.violations).toEqual([expect.objectContaining({ rule: 'firmware-features', code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [gw.id] })]);
    expect((await getDevice(h.api, old.id)).state).toBe('in_stock');
    expect((await getAsset(h.api, gw.id)).firmware).toBeNull();
    expect((await auditOfDevice(h.api, old.id, { outcome: 'refused' }))[0]).toMatchObject({ action: 'install', violations: [expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE' })] });

    // A recent device goes in; downgrading it later is refused for the same reason, upgrading is recorded on the asset.
    const recent = await registerDevice(h.api, 'nexa-gw-200', '2.1.0');
    const installed = await walk(h.api, recent, [['install', { assetId: gw.id }]]);
    expect((await getAsset(h.api, gw.id)).firmware).toBe('2.1.0');
    const downgrade = await h.api<Problem>('PATCH', `/v1/devices/${recent.id}`, { firmware: '1.4.2' }, { 'if-match': deviceTag(installed) });
    expect(downgrade.status).toBe(409);
    expect(codesOf(downgrade.body)).toEqual(['FEATURE_NEEDS_FIRMWARE']);
    expect((await getDevice(h.api, recent.id)).firmware).toBe('2.1.0');
    const upgrade = await h.api<Device>('PATCH', `/v1/devices/${recent.id}`, { firmware: '2.3.1' }, { 'if-match': deviceTag(installed) });
    expect(upgrade.status).toBe(200);
    expect((await getAsset(h.api, gw.id)).firmware).toBe('2.3.1');
  });

  it('lets exactly one of two racing installs into one slot win; the other is a 409, never a 500', async () => {
    const s = await freshSite();
    const a = await registerDevice(h.api, METER, '1.0.0');
    const b = await registerDevice(h.api, METER, '1.0.0');
    const results = await Promise.all([a, b].map((d) => h.api<Problem>('POST', `/v1/devices/${d.id}/transitions`, { transition: 'install', assetId: s.meters[0].id }, { 'if-match': deviceTag(d) })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(codesOf(results.find((r) => r.status === 409)!.body)).toEqual(['SLOT_TAKEN']);
    const { rows } = await h.db.pool.query(`SELECT id FROM lifecycle.devices WHERE asset_id = $1 AND state = 'installed'`, [s.meters[0].id]);
    expect(rows).toHaveLength(1);
  });
});

function expectOk<T>(res: { status: number; body: T; text: string }): T {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`);
  return res.body;
}

describe('commission, activate, maintenance', () => {
  it('refuses commissioning until the configuration is deployed and reported back equal, then commissions (audited)', async () => {
    const s = await freshSite();
    const meter = s.meters[0].id;
    const d = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, d, [['install', { assetId: meter }]]);

    const nothing = await transition<Problem>(h.api, d, 'commission');
    expect(nothing.status).toBe(409);
    expect(codesOf(nothing.body)).toEqual(['CONFIG_NOT_DEPLOYED', 'REPORTED_DIFFERS']);
    expect(nothing.body.violations?.every((v) => v.assetIds.includes(meter))).toBe(true);

    // Marked deployed, but no gateway has acknowledged it since the device was installed.
    await markDeployed(h, meter);
    expect(codesOf((await transition<Problem>(h.api, d, 'commission')).body)).toEqual(['CONFIG_NOT_DEPLOYED', 'REPORTED_DIFFERS']);
    await report(h, s, meter, { hash: 'sha256:0000' });
    expect(codesOf((await transition<Problem>(h.api, d, 'commission')).body)).toEqual(['REPORTED_DIFFERS']);
    await report(h, s, meter);

    const ok = await transition(h.api, d, 'commission', { comment: 'loop checked' });
    expect(ok.status).toBe(200);
    expect(ok.body.state).toBe('commissioned');
    const events = await auditOfDevice(h.api, d.id, { action: 'commission' });
    expect(events.map((e) => e.outcome)).toEqual(['applied', 'refused', 'refused', 'refused']);
    expect(events[0]).toMatchObject({ comment: 'loop checked', before: { state: 'installed' }, after: { state: 'commissioned' } });
  });

  it('activates, goes into maintenance and back — refused back while the configuration changed and is not redeployed', async () => {
    const s = await freshSite();
    const meter = s.meters[0].id;
    const d = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), meter);
    expect(d.state).toBe('active');
    expect((await walk(h.api, d, ['start_maintenance'])).state).toBe('maintenance');

    const asset = await getAsset(h.api, meter);
    expect((await h.api('PUT', `/v1/assets/${meter}/config`, { ...meterConfig(1), pollIntervalMs: 30000 }, { 'if-match': etagOf('asset', asset) })).status).toBe(200);
    const back = await transition<Problem>(h.api, d, 'end_maintenance');
    expect(back.status).toBe(409);
    expect(codesOf(back.body)).toEqual(['CONFIG_NOT_DEPLOYED', 'REPORTED_DIFFERS']);

    await deployAndReport(h, s, meter);
    expect((await walk(h.api, d, ['end_maintenance'])).state).toBe('active');
    const actions = (await auditOfDevice(h.api, d.id, { outcome: 'applied' })).map((e) => e.action).reverse();
    expect(actions).toEqual(['create', 'install', 'commission', 'activate', 'start_maintenance', 'end_maintenance']);
  });

  it('refuses a transition the state machine does not have, and audits the refusal', async () => {
    const d = await registerDevice(h.api, METER, '1.0.0');
    for (const t of ['commission', 'activate', 'start_maintenance', 'end_maintenance', 'decommission', 'report_fault', 'return_to_vendor'] as const) {
      const res = await transition<Problem>(h.api, d, t);
      expect({ t, status: res.status, codes: codesOf(res.body) }).toEqual({ t, status: 409, codes: ['TRANSITION_NOT_ALLOWED'] });
    }
    expect(await auditOfDevice(h.api, d.id, { outcome: 'refused' })).toHaveLength(7);
    expect(await getDevice(h.api, d.id)).toEqual(d);
  });

  it('needs If-Match on every transition: 428 without, 412 stale or naming another device', async () => {
    const d = await registerDevice(h.api, METER, '1.0.0');
    const other = await registerDevice(h.api, METER, '1.0.0');
    const url = `/v1/devices/${d.id}/transitions`;
    expect((await h.api<Problem>('POST', url, { transition: 'report_fault' })).status).toBe(428);
    expect((await h.api<Problem>('POST', url, { transition: 'report_fault' }, { 'if-match': deviceTag({ id: d.id, version: 7 }) })).body).toMatchObject({ status: 412, currentEtag: deviceTag(d) });
    expect((await h.api<Problem>('POST', url, { transition: 'report_fault' }, { 'if-match': deviceTag(other) })).status).toBe(412);
    expect((await h.api<Problem>('POST', url, { transition: 'report_fault' }, { 'if-match': '*' })).status).toBe(400);
    expect((await h.api<Problem>('POST', url, { transition: 'fly' }, { 'if-match': deviceTag(d) })).status).toBe(422);
    expect((await h.api<Problem>('POST', `/v1/devices/${randomUUID()}/transitions`, { transition: 'report_fault' }, { 'if-match': deviceTag({ id: randomUUID(), version: 1 }) })).status).toBe(412);
  });
});

describe('a gateway and the devices behind it', () => {
  it('cannot go into maintenance nor be decommissioned while devices under it are in service', async () => {
    const s = await freshSite();
    const gw = await bringIntoService(h, s, await registerDevice(h.api, 'nexa-gw-200', '2.3.1'), s.gateway.id);
    const meter = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), s.meters[0].id);
    const sensor = await registerDevice(h.api, 'thermia-tt-420', '1.0.0');
    await walk(h.api, sensor, [['install', { assetId: s.sensors[0].id }]]);

    const maint = await transition<Problem>(h.api, gw, 'start_maintenance');
    expect(maint.status).toBe(409);
    expect(maint.body.violations).toEqual([expect.objectContaining({ code: 'DEPENDENTS_ACTIVE', assetIds: [s.gateway.id, s.meters[0].id] })]);
    expect(maint.body.violations?.[0].message).toContain(meter.serial);
    expect(codesOf((await transition<Problem>(h.api, gw, 'decommission')).body)).toEqual(['DEPENDENTS_ACTIVE']);

    // The meter in maintenance no longer needs the gateway's buses, but it will be back: maintenance yes, decommission no.
    await walk(h.api, meter, ['start_maintenance']);
    expect((await walk(h.api, gw, ['start_maintenance'])).state).toBe('maintenance');
    await walk(h.api, gw, ['end_maintenance']);
    expect(codesOf((await transition<Problem>(h.api, gw, 'decommission')).body)).toEqual(['DEPENDENTS_ACTIVE']);

    await walk(h.api, meter, ['decommission']);
    const gone = await walk(h.api, gw, ['decommission']);
    expect(gone).toMatchObject({ state: 'decommissioned', siteId: null, assetId: null });
    const [event] = await auditOfDevice(h.api, gw.id, { action: 'decommission', outcome: 'applied' });
    expect(event).toMatchObject({ scope: `site:${s.site.id}`, before: { state: 'active', assetId: s.gateway.id }, after: { state: 'decommissioned', assetId: null } });
  });

  it('a device under it is not made active while the gateway is not: neither activated nor back from maintenance', async () => {
    const s = await freshSite();
    const gw = await bringIntoService(h, s, await registerDevice(h.api, 'nexa-gw-200', '2.3.1'), s.gateway.id);
    const meter = await walk(h.api, await registerDevice(h.api, METER, '1.0.0'), [['install', { assetId: s.meters[0].id }]]);
    await deployAndReport(h, s, s.meters[0].id);
    await walk(h.api, meter, ['commission']);
    const other = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), s.meters[1].id);
    await walk(h.api, other, ['start_maintenance']);

    await walk(h.api, gw, ['start_maintenance']);
    for (const [device, t] of [
      [meter, 'activate'],
      [other, 'end_maintenance'],
    ] as const) {
      const refused = await transition<Problem>(h.api, device, t);
      expect(refused.status).toBe(409);
      expect(refused.body.violations).toEqual([expect.objectContaining({ code: 'GATEWAY_NOT_ACTIVE', assetIds: [device.assetId, s.gateway.id] })]);
      expect(refused.body.violations?.[0].message).toContain(gw.serial);
    }
    await walk(h.api, gw, ['end_maintenance']);
    expect((await walk(h.api, other, ['end_maintenance'])).state).toBe('active');
    // Nor is the gateway decommissioned under a commissioned device (the only one under it now),
    // which would be activated under no gateway.
    await walk(h.api, other, ['decommission']);
    const decommission = await transition<Problem>(h.api, gw, 'decommission');
    expect(decommission.body.violations).toEqual([expect.objectContaining({ code: 'DEPENDENTS_ACTIVE', assetIds: [s.gateway.id, s.meters[0].id] })]);
    expect((await walk(h.api, meter, ['activate'])).state).toBe('active');
  });

  it('a device under a gateway whose device has left is not activated: the slot was tracked, and is empty', async () => {
    const s = await freshSite();
    const gw = await bringIntoService(h, s, await registerDevice(h.api, 'nexa-gw-200', '2.3.1'), s.gateway.id);
    const meter = await walk(h.api, await registerDevice(h.api, METER, '1.0.0'), [['install', { assetId: s.meters[0].id }]]);
    // An installed device does not hold the gateway: it is decommissioned.
    await walk(h.api, gw, ['decommission']);
    await deployAndReport(h, s, s.meters[0].id);
    await walk(h.api, meter, ['commission']);
    const refused = await transition<Problem>(h.api, meter, 'activate');
    expect(refused.body.violations).toEqual([expect.objectContaining({ code: 'GATEWAY_NOT_ACTIVE', message: expect.stringContaining('whose device has left') })]);
    // What the transitions list says is what the transition gets.
    const listed = await h.api<{ items: Array<{ transition: string; allowed: boolean; violations: Array<{ code: string }> }> }>('GET', `/v1/devices/${meter.id}/transitions`);
    expect(listed.body.items.find((v) => v.transition === 'activate')).toMatchObject({ allowed: false, violations: [{ code: 'GATEWAY_NOT_ACTIVE' }] });
    // A new gateway device, once active, lets it be.
    await bringIntoService(h, s, await registerDevice(h.api, 'nexa-gw-200', '2.3.1'), s.gateway.id);
    expect((await walk(h.api, meter, ['activate'])).state).toBe('active');
  });

  it('lists every transition with whether it is allowed now and why not', async () => {
    const s = await freshSite();
    const d = await registerDevice(h.api, METER, '1.0.0');
    const holder = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, holder, [['install', { assetId: s.meters[0].id }]]);

    type Verdicts = { state: string; items: Array<{ transition: string; allowed: boolean; requires: string[]; violations: Array<{ code: string }> }> };
    const free = await h.api<Verdicts>('GET', `/v1/devices/${d.id}/transitions`);
    expect(free.status).toBe(200);
    const byName = (v: Verdicts) => Object.fromEntries(v.items.map((i) => [i.transition, i]));
    expect(byName(free.body).install).toMatchObject({ allowed: true, requires: ['assetId'] });
    expect(byName(free.body).activate).toMatchObject({ allowed: false, violations: [{ code: 'TRANSITION_NOT_ALLOWED' }] });
    expect(free.body.items).toHaveLength(8);

    const taken = await h.api<Verdicts>('GET', `/v1/devices/${d.id}/transitions?assetId=${s.meters[0].id}`);
    expect(byName(taken.body).install).toMatchObject({ allowed: false, requires: [], violations: [{ code: 'SLOT_TAKEN' }] });
    const open = await h.api<Verdicts>('GET', `/v1/devices/${d.id}/transitions?assetId=${s.meters[1].id}`);
    expect(byName(open.body).install).toMatchObject({ allowed: true, violations: [] });

    const installed = await h.api<Verdicts>('GET', `/v1/devices/${holder.id}/transitions`);
    expect(byName(installed.body).commission.violations.map((v) => v.code)).toEqual(['CONFIG_NOT_DEPLOYED', 'REPORTED_DIFFERS']);
    expect(byName(installed.body).report_fault.allowed).toBe(true);
    expect(byName(installed.body).decommission.allowed).toBe(true);
    expect((await h.api<Problem>('GET', `/v1/devices/${randomUUID()}/transitions`)).status).toBe(404);
  });
});

describe('leaving service', () => {
  it('frees the slot on decommission, so another device can be installed there', async () => {
    const s = await freshSite();
    const a = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, a, [['install', { assetId: s.meters[0].id }], 'decommission']);
    const b = await registerDevice(h.api, METER, '2.0.1');
    expect((await walk(h.api, b, [['install', { assetId: s.meters[0].id }]])).assetId).toBe(s.meters[0].id);
    expect((await getAsset(h.api, s.meters[0].id)).firmware).toBe('2.0.1');
  });

  it('takes a faulty device out of its slot but remembers where it was, then returns it to the vendor', async () => {
    const s = await freshSite();
    const d = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), s.meters[0].id);
    const faulty = await walk(h.api, d, ['report_fault']);
    expect(faulty).toMatchObject({ state: 'faulty', assetId: s.meters[0].id, siteId: s.site.id });
    const spare = await registerDevice(h.api, METER, '1.0.0');
    expect((await transition(h.api, spare, 'install', { assetId: s.meters[0].id })).status).toBe(200);
    const returned = await walk(h.api, d, ['return_to_vendor']);
    expect(returned).toMatchObject({ state: 'rma', assetId: null, siteId: null });
    expect((await auditOfDevice(h.api, d.id, { action: 'return_to_vendor' }))[0]).toMatchObject({ scope: `site:${s.site.id}`, outcome: 'applied' });
  });
});

describe('replacement (RMA swap)', () => {
  interface Swap {
    old: Device;
    new: Device;
    assetId: string;
    deploymentId: string | null;
    deploymentError?: { code: string };
  }

  it('puts the new device in the old one’s slot, returns the old one, audits both and deploys the asset’s configuration', async () => {
    const s = await freshSite();
    const asset = s.meters[0].id;
    const old = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), asset);
    const spare = await registerDevice(h.api, METER, '2.0.1');
    const res = await h.api<Swap>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: spare.id, comment: 'display dead' }, { 'if-match': deviceTag(old) });
    expect(res.status).toBe(200);
    expect(res.body.old).toMatchObject({ id: old.id, state: 'rma', assetId: null, siteId: null });
    expect(res.body.new).toMatchObject({ id: spare.id, state: 'installed', assetId: asset, siteId: s.site.id });
    expect(res.body.assetId).toBe(asset);
    expect((await getAsset(h.api, asset)).firmware).toBe('2.0.1');
    expect(h.deployCalls.at(-1)).toMatchObject({ siteId: s.site.id, assetIds: [asset] });
    expect(res.body.deploymentId).toBe(`stub-deployment-${h.deployCalls.length}`);

    const [outEvent] = await auditOfDevice(h.api, old.id, { action: 'replace' });
    const [inEvent] = await auditOfDevice(h.api, spare.id, { action: 'replace' });
    expect(outEvent).toMatchObject({ outcome: 'applied', comment: 'display dead', before: { state: 'active' }, after: { state: 'rma' }, scope: `site:${s.site.id}` });
    expect(inEvent).toMatchObject({ outcome: 'applied', before: { state: 'in_stock' }, after: { state: 'installed', assetId: asset } });
    expect(inEvent.changesetId).toBe(outEvent.changesetId);

    // What the old device acknowledged and reported does not commission the new one: here the
    // replacement's deployment never answers (cancelled, timed out, or not started). The
    // transitions list says the same.
    const early = await transition<Problem>(h.api, spare, 'commission');
    expect(early.status).toBe(409);
    expect(codesOf(early.body)).toEqual(['CONFIG_NOT_DEPLOYED']);
    const listed = await h.api<{ items: Array<{ transition: string; allowed: boolean; violations: Array<{ code: string }> }> }>('GET', `/v1/devices/${spare.id}/transitions`);
    expect(listed.body.items.find((v) => v.transition === 'commission')).toMatchObject({ allowed: false, violations: [{ code: 'CONFIG_NOT_DEPLOYED' }] });
    // The new device is commissioned once the deployment is acknowledged and reported.
    await deployAndReport(h, s, asset);
    expect((await walk(h.api, spare, ['commission', 'activate'])).state).toBe('active');
  });

  it('keeps the committed swap and says why when the deployment cannot start', async () => {
    const s = await freshSite();
    const old = await walk(h.api, await registerDevice(h.api, METER, '1.0.0'), [['install', { assetId: s.meters[0].id }]]);
    const spare = await registerDevice(h.api, METER, '1.0.0');
    const deploy = h.server.lifecycle.deps.deploy;
    h.server.lifecycle.deps.deploy = async () => {
      throw new ApiError('SERVICE_UNAVAILABLE', 'No MQTT broker is connected.');
    };
    try {
      const res = await h.api<Swap>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: spare.id }, { 'if-match': deviceTag(old) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ deploymentId: null, deploymentError: { code: 'SERVICE_UNAVAILABLE' }, new: { state: 'installed' } });
    } finally {
      h.server.lifecycle.deps.deploy = deploy;
    }
    expect((await getDevice(h.api, spare.id)).assetId).toBe(s.meters[0].id);
  });

  it('replaces a device already reported faulty', async () => {
    const s = await freshSite();
    const old = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), s.meters[1].id);
    const faulty = await walk(h.api, old, ['report_fault']);
    const spare = await registerDevice(h.api, METER, '1.0.0');
    const res = await h.api<Swap>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: spare.id }, { 'if-match': deviceTag(faulty) });
    expect(res.status).toBe(200);
    expect(res.body.new.assetId).toBe(s.meters[1].id);
  });

  it('is refused for a replacement of another model or not in stock, with every reason, and audited', async () => {
    const s = await freshSite();
    const old = await bringIntoService(h, s, await registerDevice(h.api, METER, '1.0.0'), s.meters[0].id);
    const other = await registerDevice(h.api, 'voltis-em-110', '1.0.0');
    const busy = await registerDevice(h.api, METER, '1.0.0');
    await walk(h.api, busy, [['install', { assetId: s.meters[1].id }]]);

    const wrongModel = await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: other.id }, { 'if-match': deviceTag(old) });
    expect(wrongModel.status).toBe(409);
    expect(codesOf(wrongModel.body)).toEqual(['MODEL_MISMATCH']);
    const notInStock = await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: busy.id }, { 'if-match': deviceTag(old) });
    expect(codesOf(notInStock.body)).toEqual(['TRANSITION_NOT_ALLOWED']);
    expect(await getDevice(h.api, old.id)).toEqual(old);
    expect((await auditOfDevice(h.api, old.id, { action: 'replace', outcome: 'refused' })).length).toBe(2);

    const self = await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: old.id }, { 'if-match': deviceTag(old) });
    expect(self.status).toBe(422);
    const ghost = await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: randomUUID() }, { 'if-match': deviceTag(old) });
    expect(ghost.status).toBe(422);
    expect((await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: busy.id })).status).toBe(428);
  });

  it('refuses to swap in a device in stock whose firmware the asset’s configuration cannot run', async () => {
    const site = await createSite(h.api);
    const config = { ...gatewayConfig('10.20.0.10', 'gw-swap'), protocols: ['modbus-rtu', 'mqtt', 'bacnet-ip'] };
    const gwAsset = await createAsset(h.api, site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-SWAP', config });
    const old = await walk(h.api, await registerDevice(h.api, 'nexa-gw-200', '2.3.1'), [['install', { assetId: gwAsset.id }]]);
    const spare = await registerDevice(h.api, 'nexa-gw-200', '1.0.0');
    const res = await h.api<Problem>('POST', `/v1/devices/${old.id}/replace`, { newDeviceId: spare.id }, { 'if-match': deviceTag(old) });
    expect(res.status).toBe(409);
    expect(codesOf(res.body)).toEqual(['FEATURE_NEEDS_FIRMWARE']);
    expect((await getDevice(h.api, spare.id)).state).toBe('in_stock');
    expect((await getAsset(h.api, gwAsset.id)).firmware).toBe('2.3.1');
  });
});

describe('the API description', () => {
  it('documents the device and firmware routes in OpenAPI, with their error responses', async () => {
    const doc = (await h.api<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>('GET', '/openapi.json')).body;
    for (const path of ['/v1/devices', '/v1/devices/{id}', '/v1/devices/{id}/transitions', '/v1/devices/{id}/replace', '/v1/firmware']) expect(doc.paths[path]).toBeDefined();
    expect(Object.keys(doc.paths['/v1/devices/{id}/transitions'].post.responses)).toEqual(expect.arrayContaining(['200', '409', '412', '428']));
  });
});
