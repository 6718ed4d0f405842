import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleConfigEvent } from '../../src/lifecycle/config-events.ts';
import { createDeployment } from '../../src/lifecycle/deployments/create-deployment.ts';
import { retarget } from '../../src/lifecycle/deployments/retained-clears.ts';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { desiredTopic, TOPIC_ROOT } from '../../src/mqtt/topics.ts';
import type { Server } from '../../src/server.ts';
import { type Api, buildSite, createAsset, etagOf, expectStatus, gatewayConfig, getAsset, meterConfig, type Page } from '../api/helpers.ts';
import { clearRetained, deploy, getDeployment, retainedMessages, settled, simulate, startRema, waitFor } from './deployments-fixture.ts';

/**
 * A gateway gets its devices' configurations as retained messages, again at every reconnect: the
 * message of an asset that left service, or that now hangs under another gateway, must leave the
 * broker, or the old gateway would configure a device that is no longer there.
 */
let db: TestDatabase;
let server: Server;
let api: Api;
const sites: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ server, api } = await startRema(db.url));
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
  await Promise.all(sites.map(clearRetained));
});

/** The retained desired configurations under a site's topics: topic → payload. */
async function retainedConfigs(siteCode: string): Promise<Map<string, { assetId: string; version: number }>> {
  const messages = await retainedMessages(`${TOPIC_ROOT}/${siteCode}/gateways/+/config/+`);
  return new Map([...messages].map(([topic, body]) => [topic, JSON.parse(body.toString('utf8'))]));
}

/** Handles a configuration event again, as a consumer handling it late would. */
async function replay(row: { id: string; topic: string; key: string; payload: unknown; created_at: Date }) {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await handleConfigEvent(client, { id: Number(row.id), topic: row.topic, key: row.key, payload: row.payload, createdAt: row.created_at.toISOString() });
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

const lifecycle = () => {
  if (!server.lifecycle) throw new Error('the lifecycle service runs in this process');
  return server.lifecycle;
};

async function patchAsset(id: string, body: object, what: string) {
  const current = await getAsset(api, id);
  const res = await api('PATCH', `/v1/assets/${id}`, body, { 'if-match': etagOf('asset', current) });
  expectStatus(res, 200, what);
}

async function queuedClears(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycle.retained_clears`);
  return rows[0].n;
}

describe('retained configurations', () => {
  it('of a retired asset leave the broker; the others stay, and the asset back in service is deployed again', async () => {
    const f = await buildSite(api, { meters: 2, sensors: 0 });
    sites.push(f.site.code);
    const sim = await simulate(api, f.site.code);
    try {
      expect((await settled(api, (await deploy(api, { siteId: f.site.id })).id)).status).toBe('succeeded');
      const [m1, m2] = f.meters;
      const m1Topic = desiredTopic(f.site.code, f.gateway.id, m1.id);
      const m2Topic = desiredTopic(f.site.code, f.gateway.id, m2.id);
      const before = await retainedConfigs(f.site.code);
      expect(before.get(m1Topic)).toMatchObject({ assetId: m1.id, version: 1 });
      expect(before.has(m2Topic)).toBe(true);

      await patchAsset(m1.id, { status: 'retired' }, 'retire M-1');
      await lifecycle().syncConfigEvents();
      await waitFor('M-1 to be cleared', async () => ((await retainedConfigs(f.site.code)).has(m1Topic) ? undefined : true));
      const after = await retainedConfigs(f.site.code);
      expect([...after.keys()].sort()).toEqual([...before.keys()].filter((t) => t !== m1Topic).sort());
      expect(await queuedClears()).toBe(0);

      // Back in service: a deployment sends it again, and nothing clears it afterwards.
      await patchAsset(m1.id, { status: 'active' }, 'return M-1 to service');
      await lifecycle().syncConfigEvents();
      const again = await deploy(api, { siteId: f.site.id, assetIds: [m1.id] });
      expect((await settled(api, again.id)).status).toBe('succeeded');
      await lifecycle().syncConfigEvents();
      expect(await queuedClears()).toBe(0);
      expect((await retainedConfigs(f.site.code)).get(m1Topic)).toMatchObject({ assetId: m1.id });

      // The retirement's event handled late (a lagging consumer, a replay): the deployment made
      // after M-1 came back is left alone, and its configuration stays.
      const [retireEvent] = (await db.pool.query<{ id: string; topic: string; key: string; payload: unknown; created_at: Date }>(
        `SELECT feed_seq AS id, topic, key, payload, created_at FROM config.outbox WHERE topic = 'config.asset.updated' AND key = $1 AND payload->'after'->>'status' = 'retired'`,
        [m1.id],
      )).rows;
      await replay(retireEvent);
      expect(await queuedClears()).toBe(0);
      expect((await getDeployment(api, again.id)).results.map((t) => t.status)).toEqual(['acked']);

      // Also while such a deployment has not been answered yet: it keeps its target and its topic.
      await sim.stop();
      const pending = await deploy(api, { siteId: f.site.id, assetIds: [m1.id], timeoutMs: 60_000 });
      await replay(retireEvent);
      expect(await queuedClears()).toBe(0);
      expect((await getDeployment(api, pending.id)).results.map((t) => t.status)).not.toContain('cancelled');
    } finally {
      await sim.stop();
    }
  });

  it('of a deleted asset leave the broker, and its targets still awaiting an answer are withdrawn from the running deployment', async () => {
    const f = await buildSite(api, { meters: 1, sensors: 0 });
    sites.push(f.site.code);
    // Not cabled, so it can be deleted alone; its gateway is offline, so its target stays sent.
    const gwB = await createAsset(api, f.site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-B', config: gatewayConfig('10.20.0.11', 'gw-b') });
    const spare = await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-spare', parentId: gwB.id, port: 'rs485-1', config: meterConfig(30) });
    const sim = await simulate(api, f.site.code, { offlineGatewayIds: [gwB.id] });
    try {
      const d = await deploy(api, { siteId: f.site.id, assetIds: [spare.id, f.meters[0].id], timeoutMs: 60_000 });
      const spareTopic = desiredTopic(f.site.code, gwB.id, spare.id);
      await waitFor('the spare meter to be sent', async () => ((await retainedConfigs(f.site.code)).has(spareTopic) ? true : undefined));

      const current = await getAsset(api, spare.id);
      expectStatus(await api('DELETE', `/v1/assets/${spare.id}`, undefined, { 'if-match': etagOf('asset', current) }), 204, 'delete the spare meter');
      await lifecycle().syncConfigEvents();
      await waitFor('the spare meter to be cleared', async () => ((await retainedConfigs(f.site.code)).has(spareTopic) ? undefined : true));

      const done = await settled(api, d.id);
      expect(done.status).toBe('succeeded');
      const withdrawn = done.results.find((t) => t.assetId === spare.id);
      expect(withdrawn).toMatchObject({ status: 'cancelled' });
      expect(withdrawn?.error).toMatch(/^asset deleted \(config\.asset\.deleted #\d+\)$/);
      expect(done.results.find((t) => t.assetId === f.meters[0].id)?.status).toBe('acked');

      const audit = await api<Page<AuditEvent>>('GET', `/v1/audit?entityId=${d.id}&action=withdraw-targets`);
      expect(audit.body.items).toHaveLength(1);
      expect(audit.body.items[0]).toMatchObject({ service: 'lifecycle', actor: { type: 'system', id: 'lifecycle' }, after: { assetIds: [spare.id] } });

      // A replay of the feed withdraws nothing more.
      await db.pool.query(`UPDATE lifecycle.event_cursors SET position = 0 WHERE consumer = 'config-events'`);
      await lifecycle().syncConfigEvents();
      expect((await api<Page<AuditEvent>>('GET', `/v1/audit?entityId=${d.id}&action=withdraw-targets`)).body.items).toHaveLength(1);
    } finally {
      await sim.stop();
    }
  });

  it('of a moved asset leave its old gateway once it is deployed through the new one', async () => {
    const f = await buildSite(api, { meters: 1, sensors: 0 });
    sites.push(f.site.code);
    const gwB = await createAsset(api, f.site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-B', config: gatewayConfig('10.20.0.11', 'gw-b') });
    const mx = await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-X', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(31) });
    const sim = await simulate(api, f.site.code);
    try {
      expect((await settled(api, (await deploy(api, { siteId: f.site.id, assetIds: [mx.id] })).id)).status).toBe('succeeded');
      const oldTopic = desiredTopic(f.site.code, f.gateway.id, mx.id);
      const newTopic = desiredTopic(f.site.code, gwB.id, mx.id);
      expect((await retainedConfigs(f.site.code)).has(oldTopic)).toBe(true);

      await patchAsset(mx.id, { parentId: gwB.id, port: 'rs485-1' }, 'move M-X to GW-B');
      // Moved, not yet deployed: the old gateway still runs it, and keeps its configuration.
      await sleep(200);
      expect((await retainedConfigs(f.site.code)).has(oldTopic)).toBe(true);

      expect((await settled(api, (await deploy(api, { siteId: f.site.id, assetIds: [mx.id] })).id)).status).toBe('succeeded');
      await waitFor('the old topic to be cleared', async () => ((await retainedConfigs(f.site.code)).has(oldTopic) ? undefined : true));
      const now = await retainedConfigs(f.site.code);
      expect(now.get(newTopic)).toMatchObject({ assetId: mx.id, version: 2 });
      expect(await queuedClears()).toBe(0);

      // Cleared once: the next deployment through GW-B does not queue the old topic again.
      const { rows: old } = await db.pool.query<{ cleared_at: Date | null }>(`SELECT cleared_at FROM lifecycle.deployment_targets WHERE asset_id = $1 AND gateway_id = $2`, [mx.id, f.gateway.id]);
      expect(old.length).toBe(1);
      expect(old[0].cleared_at).not.toBeNull();
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await retarget(client, [{ assetId: mx.id, siteCode: f.site.code, gatewayId: gwB.id }], 'test');
        expect((await client.query(`SELECT count(*)::int AS n FROM lifecycle.retained_clears`)).rows[0].n).toBe(0);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    } finally {
      await sim.stop();
    }
  });

  it('are not sent for an asset that left service after the deployment read the site', async () => {
    const f = await buildSite(api, { meters: 1, sensors: 0 });
    sites.push(f.site.code);
    const m1 = f.meters[0];
    const deps = lifecycle().deps;
    // A deployment reads the site, then M-1 is retired and the lifecycle service learns it before
    // the deployment takes its lock.
    const stale = await deps.config.getSiteGraph(f.site.id);
    if (!stale) throw new Error('no site graph');
    await patchAsset(m1.id, { status: 'retired' }, 'retire M-1');
    await lifecycle().syncConfigEvents();
    const config = Object.assign(Object.create(deps.config) as typeof deps.config, { getSiteGraph: async () => stale });
    const ctx = { actor: { type: 'user' as const, id: 'u', name: 'tester' }, requestId: 'stale-plan' };
    const refused = await createDeployment({ pool: deps.pool, mqtt: deps.mqtt, config }, { siteId: f.site.id, assetIds: [f.gateway.id, m1.id] }, ctx).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', extra: { errors: [{ in: 'body', path: '/assetIds/1', message: `asset ${m1.id} was retired meanwhile; it gets no configuration` }] } });
    expect((await api<Page<{ id: string }>>('GET', `/v1/deployments?siteId=${f.site.id}`)).body.items).toHaveLength(0);

    // Back in service: a deployment planned on the site as it is now sends it.
    await patchAsset(m1.id, { status: 'active' }, 'return M-1 to service');
    const d = await createDeployment({ pool: deps.pool, mqtt: deps.mqtt, config: deps.config }, { siteId: f.site.id, assetIds: [m1.id] }, ctx);
    expect(d.targets.total).toBe(1);
  });
});
