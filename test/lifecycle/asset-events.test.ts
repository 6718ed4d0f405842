import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACKED_TOPIC } from '../../src/lifecycle/deployments/ack-relay.ts';
import { buildSite, createAsset, etagOf, expectStatus, getAsset, type Harness, meterConfig, startHarness } from '../api/helpers.ts';
import { auditOfDevice, getDevice, registerDevice, walk } from './devices-fixtures.ts';

/**
 * The lifecycle service follows the configuration service's events (one process here; the
 * same consumer reads them over HTTP when the services run apart — test/split): an asset that
 * is retired or deleted no longer holds a device.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const METER = 'voltis-em-340';
const lifecycle = () => {
  if (!h.server.lifecycle) throw new Error('the lifecycle service runs in this process');
  return h.server.lifecycle;
};

describe('an asset leaving service', () => {
  it('decommissions the device in its slot when it is retired, audited as the lifecycle service acting on the event', async () => {
    const f = await buildSite(h.api, { meters: 2, sensors: 0 });
    const device = await registerDevice(h.api, METER, '1.3.0');
    await walk(h.api, device, [['install', { assetId: f.meters[0].id }]]);
    const meter = await getAsset(h.api, f.meters[0].id);
    const retired = await h.api('PATCH', `/v1/assets/${meter.id}`, { status: 'retired' }, { 'if-match': etagOf('asset', meter), 'x-request-id': 'retire-m1' });
    expectStatus(retired, 200, 'retire the meter');

    await lifecycle().syncConfigEvents();
    const after = await getDevice(h.api, device.id);
    expect(after).toMatchObject({ state: 'decommissioned', assetId: null, siteId: null });
    const [latest] = await auditOfDevice(h.api, device.id);
    expect(latest).toMatchObject({
      service: 'lifecycle',
      action: 'decommission',
      outcome: 'applied',
      actor: { type: 'system', id: 'lifecycle' },
      requestId: 'retire-m1',
      scope: `site:${f.site.id}`,
      before: { state: 'installed', assetId: meter.id },
      after: { state: 'decommissioned', assetId: null },
    });
    expect(latest.comment).toMatch(/M-1 .* was retired by .*config\.asset\.updated #\d+/);
  });

  it('handles every event once: a replay of the whole feed changes nothing more', async () => {
    const f = await buildSite(h.api, { meters: 1, sensors: 0 });
    const device = await registerDevice(h.api, METER, '1.3.0');
    await walk(h.api, device, [['install', { assetId: f.meters[0].id }]]);
    const meter = await getAsset(h.api, f.meters[0].id);
    expectStatus(await h.api('PATCH', `/v1/assets/${meter.id}`, { status: 'retired' }, { 'if-match': etagOf('asset', meter) }), 200, 'retire');
    await lifecycle().syncConfigEvents();
    const once = await getDevice(h.api, device.id);
    expect(once.state).toBe('decommissioned');

    // At-least-once delivery: the cursor goes back to the start and every event comes again.
    await h.db.pool.query(`UPDATE lifecycle.event_cursors SET position = 0 WHERE consumer = 'config-events'`);
    expect(await lifecycle().syncConfigEvents()).toBeGreaterThan(0);
    expect(await getDevice(h.api, device.id)).toEqual(once);
    expect((await auditOfDevice(h.api, device.id, { action: 'decommission' })).length).toBe(1);
  });

  it('decommissions the device of a deleted asset; other changes and empty slots leave devices alone', async () => {
    const f = await buildSite(h.api, { meters: 1, sensors: 0 });
    const spare = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: METER, name: 'M-spare', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(40) });
    const kept = await registerDevice(h.api, METER, '1.3.0');
    await walk(h.api, kept, [['install', { assetId: f.meters[0].id }]]);
    const gone = await registerDevice(h.api, METER, '1.3.0');
    await walk(h.api, gone, [['install', { assetId: spare.id }]]);

    const meter = await getAsset(h.api, f.meters[0].id);
    expectStatus(await h.api('PATCH', `/v1/assets/${meter.id}`, { name: 'M-1 renamed' }, { 'if-match': etagOf('asset', meter) }), 200, 'rename');
    const current = await getAsset(h.api, spare.id);
    expectStatus(await h.api('DELETE', `/v1/assets/${spare.id}`, undefined, { 'if-match': etagOf('asset', current), 'x-request-id': 'delete-spare' }), 204, 'delete the spare meter');
    await lifecycle().syncConfigEvents();

    expect(await getDevice(h.api, gone.id)).toMatchObject({ state: 'decommissioned', assetId: null });
    expect(await getDevice(h.api, kept.id)).toMatchObject({ state: 'installed', assetId: meter.id });
    const [latest] = await auditOfDevice(h.api, gone.id);
    expect(latest).toMatchObject({ action: 'decommission', actor: { type: 'system', id: 'lifecycle' }, requestId: 'delete-spare' });
    expect(latest.comment).toMatch(/M-spare .* was deleted/);
  });
});

describe('the lifecycle event feed', () => {
  it('serves device events to services, without the acknowledged versions its ack relay keeps in the same outbox', async () => {
    await h.db.pool.query(`INSERT INTO lifecycle.outbox (topic, key, payload) VALUES ($1, 'asset', '{}')`, [ACKED_TOPIC]);
    await registerDevice(h.api, METER, '1.3.0');
    const token = await h.server.admin.serviceToken('feed-test');
    const res = await h.server.app.inject({ url: '/v1/internal/events/lifecycle?after=0&limit=500', headers: { authorization: `Bearer ${token}` } });
    const topics = new Set((res.json() as { items: Array<{ topic: string }> }).items.map((e) => e.topic));
    expect(topics.has('lifecycle.device.created')).toBe(true);
    expect(topics.has(ACKED_TOPIC)).toBe(false);
    expect((await h.api('GET', '/v1/internal/events/lifecycle')).status).toBe(403); // the operator's API token is no service
  });
});
