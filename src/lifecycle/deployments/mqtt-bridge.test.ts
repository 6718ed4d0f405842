import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { configHash } from '../../core/config-hash.ts';
import { closeMqtt, connectMqtt, waitForConnection } from '../../mqtt/client.ts';
import { ackTopic, reportedTopic, type AckPayload } from '../../mqtt/topics.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { ACKED_TOPIC } from './ack-relay.ts';
import { insertDeployment } from './deployment-store.ts';
import { createMqttBridge, storeReportedStates } from './mqtt-bridge.ts';

const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

const gatewayId = randomUUID();

describe('storeReportedStates', () => {
  it('keeps the last state per asset, leaves reportedAt alone on a replay, and clears on an empty message', async () => {
    const assetId = randomUUID();
    const state = (version: number) => ({ assetId, siteCode: 'S-1', gatewayId, state: { version, hash: configHash({ version }) } });
    await storeReportedStates(db.pool, [state(1), state(2)]);
    const first = (await db.pool.query(`SELECT version, reported_at FROM lifecycle.reported_state WHERE asset_id = $1`, [assetId])).rows[0];
    expect(first.version).toBe(2);
    await storeReportedStates(db.pool, [state(2)]);
    const replay = (await db.pool.query(`SELECT reported_at FROM lifecycle.reported_state WHERE asset_id = $1`, [assetId])).rows[0];
    expect(replay.reported_at).toEqual(first.reported_at);
    await storeReportedStates(db.pool, [{ ...state(2), state: null }]);
    expect((await db.pool.query(`SELECT 1 FROM lifecycle.reported_state WHERE asset_id = $1`, [assetId])).rowCount).toBe(0);
  });
});

describe('the bridge on a real broker', () => {
  it('stores a burst of acks and states as they came: each target answered once, its version queued once, the runner told', async () => {
    const siteCode = `BRIDGE-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const assets = [randomUUID(), randomUUID(), randomUUID()];
    await withTransaction(db.pool, (client) =>
      insertDeployment(
        client,
        { id, orgId: randomUUID(), siteId: randomUUID(), batchSize: 3, failureThreshold: 1, timeoutMs: 10_000, actor: { type: 'token', id: 'token:test', name: 'test' }, requestId: null, comment: null },
        assets.map((assetId) => ({ assetId, gatewayId, siteCode, batch: 1, configVersion: 2, configHash: configHash({}), config: {} })),
      ),
    );
    await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1`, [id]);

    const rema = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-bridge-test' });
    const gateway = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-bridge-test-gw' });
    let kicks = 0;
    const bridge = createMqttBridge({ pool: db.pool, mqtt: rema, onAck: () => kicks++ });
    try {
      expect(await waitForConnection(rema, 5000)).toBe(true);
      expect(await waitForConnection(gateway, 5000)).toBe(true);
      bridge.start();
      await sleep(300); // the subscription
      const ack = (assetId: string, over: Partial<AckPayload> = {}): AckPayload => ({ deploymentId: id, assetId, version: 2, status: 'applied', error: null, ...over });
      const sends: Array<[string, unknown]> = [
        [ackTopic(siteCode, gatewayId, assets[0]), ack(assets[0])],
        [ackTopic(siteCode, gatewayId, assets[1]), ack(assets[1], { status: 'rejected', error: 'bus busy' })],
        [ackTopic(siteCode, gatewayId, assets[0]), ack(assets[0], { status: 'rejected', error: 'changed my mind' })],
        [ackTopic(siteCode, gatewayId, assets[1]), ack(assets[1])],
        [ackTopic(siteCode, gatewayId, assets[2]), ack(assets[2])],
        [reportedTopic(siteCode, gatewayId, assets[2]), { assetId: assets[2], version: 2, hash: configHash({}) }],
      ];
      // One after the other on one connection: the broker delivers them in this order.
      for (const [topic, payload] of sends) await gateway.publishAsync(topic, JSON.stringify(payload), { qos: 1 });

      const statuses = async () =>
        (await db.pool.query(`SELECT asset_id, status FROM lifecycle.deployment_targets WHERE deployment_id = $1`, [id])).rows.reduce<Record<string, string>>(
          (m, r) => ({ ...m, [r.asset_id]: r.status }),
          {},
        );
      for (let i = 0; i < 100 && Object.values(await statuses()).includes('sent'); i++) await sleep(50);
      await bridge.stop();
      expect(await statuses()).toEqual({ [assets[0]]: 'acked', [assets[1]]: 'failed', [assets[2]]: 'acked' });
      const queued = await db.pool.query(`SELECT key FROM lifecycle.outbox WHERE topic = $1 AND payload->>'deploymentId' = $2 ORDER BY id`, [ACKED_TOPIC, id]);
      expect(queued.rows.map((r) => r.key)).toEqual([assets[0], assets[2]]);
      expect(kicks).toBeGreaterThan(0);
      expect((await db.pool.query(`SELECT version FROM lifecycle.reported_state WHERE asset_id = $1`, [assets[2]])).rows).toEqual([{ version: 2 }]);
    } finally {
      await bridge.stop();
      await closeMqtt(gateway);
      await closeMqtt(rema);
    }
  });
});
