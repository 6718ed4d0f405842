import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { configHash } from '../../core/config-hash.ts';
import { closeMqtt, connectMqtt, waitForConnection, type MqttClient } from '../../mqtt/client.ts';
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

/** A deployment of these assets through one gateway of one site, its targets sent (or left pending). */
async function deployThrough(siteCode: string, gateway: string, assetIds: string[], opts: { sent?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  await withTransaction(db.pool, (client) =>
    insertDeployment(
      client,
      { id, orgId: randomUUID(), siteId: randomUUID(), batchSize: assetIds.length, failureThreshold: 1, timeoutMs: 10_000, actor: { type: 'token', id: 'token:test', name: 'test' }, requestId: null, comment: null },
      assetIds.map((assetId) => ({ assetId, gatewayId: gateway, siteCode, batch: 1, configVersion: 1, configHash: configHash({}), config: {} })),
    ),
  );
  if (opts.sent ?? true) await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1`, [id]);
  return id;
}

const storedState = async (assetId: string) =>
  (await db.pool.query<{ site_code: string; gateway_id: string; version: number }>(`SELECT site_code, gateway_id, version FROM lifecycle.reported_state WHERE asset_id = $1`, [assetId])).rows[0] ?? null;

describe('storeReportedStates', () => {
  it('keeps the last state per asset, leaves reportedAt alone on a replay, and clears on an empty message', async () => {
    const assetId = randomUUID();
    await deployThrough('S-1', gatewayId, [assetId]);
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

interface Warning {
  msg: string;
  obj: object;
}

/**
 * Runs `fn` with a bridge subscribed on the real broker and a gateway client, then stops the
 * bridge; `retained` are published (retained) before the bridge subscribes, as a restart finds
 * them, and cleared from the broker afterwards.
 */
async function withBridge(
  fn: (gateway: MqttClient, warnings: Warning[]) => Promise<void>,
  opts: { stateFlushMs?: number; retained?: Array<[string, unknown]> } = {},
): Promise<void> {
  const rema = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-bridge-test' });
  const gateway = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-bridge-test-gw' });
  const warnings: Warning[] = [];
  const bridge = createMqttBridge({ pool: db.pool, mqtt: rema, stateFlushMs: opts.stateFlushMs, log: { warn: (obj, msg) => warnings.push({ obj, msg }) } });
  try {
    expect(await waitForConnection(gateway, 5000)).toBe(true);
    for (const [topic, payload] of opts.retained ?? []) await gateway.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain: true });
    expect(await waitForConnection(rema, 5000)).toBe(true);
    bridge.start();
    await sleep(300); // the subscription
    await fn(gateway, warnings);
  } finally {
    await bridge.stop();
    for (const [topic] of opts.retained ?? []) await gateway.publishAsync(topic, '', { qos: 1, retain: true });
    await closeMqtt(gateway);
    await closeMqtt(rema);
  }
}

/**
 * Waits until `check` holds (or 20 s have passed) and returns its last answer. The bridge first
 * works through every retained state on the shared broker, other test files' included, which on
 * a busy machine takes seconds.
 */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

/** The warnings about states of these assets ignored for their topic (the broker also holds retained states of other tests). */
const ignoredFor = (warnings: Warning[], assetIds: string[]) =>
  warnings
    .filter((w) => w.msg === 'reported states from topics that do not carry their assets ignored')
    .flatMap((w) => (w.obj as { states: Array<{ assetId: string }> }).states)
    .filter((state) => assetIds.includes(state.assetId));

const stateOf = (assetId: string, version: number) => JSON.stringify({ assetId, version, hash: configHash({ version }) });
const publishState = (gateway: MqttClient, topic: string, assetId: string, version: number) => gateway.publishAsync(topic, stateOf(assetId, version), { qos: 1 });
const publishClear = (gateway: MqttClient, topic: string) => gateway.publishAsync(topic, '', { qos: 1 });

/**
 * Publishes a state of a deployed asset of its own after what came before on the same
 * connection, and waits until it is stored: by then the bridge has handled everything before it.
 */
async function settle(gateway: MqttClient): Promise<void> {
  const siteCode = `SETTLE-${randomUUID().slice(0, 8)}`;
  const [asset, gw] = [randomUUID(), randomUUID()];
  await deployThrough(siteCode, gw, [asset]);
  await publishState(gateway, reportedTopic(siteCode, gw, asset), asset, 1);
  expect(await eventually(async () => (await storedState(asset)) !== null)).toBe(true);
}

describe('reported states that cannot be stored', () => {
  it('store the valid states retained beside one whose version no integer column holds (the valid one used to stay unreported at every restart)', async () => {
    const siteCode = `BAD-${randomUUID().slice(0, 8)}`;
    const [a6, a4] = [randomUUID(), randomUUID()];
    await deployThrough(siteCode, gatewayId, [a6, a4]);
    const retained: Array<[string, unknown]> = [
      [reportedTopic(siteCode, gatewayId, a6), { assetId: a6, version: 1, hash: configHash({}) }],
      [reportedTopic(siteCode, gatewayId, a4), { assetId: a4, version: 3_000_000_000, hash: configHash({}) }],
    ];
    await withBridge(
      async (_gateway, warnings) => {
        expect(await eventually(async () => (await storedState(a6)) !== null)).toBe(true);
        expect(await storedState(a6)).toEqual({ site_code: siteCode, gateway_id: gatewayId, version: 1 });
        expect(await storedState(a4)).toBeNull();
        expect(warnings.map((w) => w.msg)).toContain('malformed reported state ignored');
      },
      { retained, stateFlushMs: 300 },
    );
  });

  it('cost only themselves: a batch the database refuses is stored one state at a time', async () => {
    const siteCode = `REFUSED-${randomUUID().slice(0, 8)}`;
    const [refused, fine] = [randomUUID(), randomUUID()];
    await deployThrough(siteCode, gatewayId, [refused, fine]);
    // A row the database refuses, whatever the reason: here a constraint of this test's own.
    await db.pool.query(`ALTER TABLE lifecycle.reported_state ADD CONSTRAINT test_refuses_one CHECK (asset_id <> '${refused}')`);
    try {
      await withBridge(
        async (gateway, warnings) => {
          await publishState(gateway, reportedTopic(siteCode, gatewayId, refused), refused, 1);
          await publishState(gateway, reportedTopic(siteCode, gatewayId, fine), fine, 1);
          expect(await eventually(async () => (await storedState(fine)) !== null)).toBe(true);
          expect(await storedState(refused)).toBeNull();
          expect(warnings.map((w) => w.msg)).toContain('reported state not stored');
        },
        { stateFlushMs: 300 },
      );
    } finally {
      await db.pool.query(`ALTER TABLE lifecycle.reported_state DROP CONSTRAINT test_refuses_one`);
    }
  });
});

describe('where a reported state may come from', () => {
  it('is the site and gateway the asset is deployed through: a state from any other topic is ignored, with a warning (a site and gateway that do not exist used to fool drift and commissioning)', async () => {
    const [s1, s2] = [`S1-${randomUUID().slice(0, 8)}`, `S2-${randomUUID().slice(0, 8)}`];
    const [g1, g2] = [randomUUID(), randomUUID()];
    const [m1, other, neverDeployed] = [randomUUID(), randomUUID(), randomUUID()];
    await deployThrough(s1, g1, [m1]);
    await deployThrough(s2, g2, [other]);
    await withBridge(async (gateway, warnings) => {
      await publishState(gateway, reportedTopic('NOPE', '11111111-1111-4111-8111-111111111111', m1), m1, 1);
      await publishState(gateway, reportedTopic(s1, '11111111-1111-4111-8111-111111111111', m1), m1, 1);
      await publishState(gateway, reportedTopic('NOPE', g1, m1), m1, 1);
      await publishState(gateway, reportedTopic(s2, g2, m1), m1, 1);
      await publishState(gateway, reportedTopic(s1, g1, other), other, 1); // an asset of S2 through S1's gateway
      await publishState(gateway, reportedTopic(s1, g1, neverDeployed), neverDeployed, 1);
      await settle(gateway);
      expect(await storedState(m1)).toBeNull();
      expect(await storedState(other)).toBeNull();
      expect(await storedState(neverDeployed)).toBeNull();
      expect(ignoredFor(warnings, [m1, other, neverDeployed])).toHaveLength(6);

      await publishState(gateway, reportedTopic(s1, g1, m1), m1, 1);
      expect(await eventually(async () => (await storedState(m1)) !== null)).toBe(true);
      expect(await storedState(m1)).toEqual({ site_code: s1, gateway_id: g1, version: 1 });
    });
  });

  it('is also where a clear must come from: an empty message on another topic leaves the state alone', async () => {
    const [s1, s2] = [`S1-${randomUUID().slice(0, 8)}`, `S2-${randomUUID().slice(0, 8)}`];
    const [g1, g2] = [randomUUID(), randomUUID()];
    const [m1, other] = [randomUUID(), randomUUID()];
    await deployThrough(s1, g1, [m1]);
    await deployThrough(s2, g2, [other]);
    await withBridge(async (gateway, warnings) => {
      await publishState(gateway, reportedTopic(s1, g1, m1), m1, 1);
      expect(await eventually(async () => (await storedState(m1)) !== null)).toBe(true);
      await publishClear(gateway, reportedTopic('NOPE', '11111111-1111-4111-8111-111111111111', m1));
      await publishClear(gateway, reportedTopic(s2, g2, m1));
      await publishClear(gateway, reportedTopic(s1, randomUUID(), m1));
      await settle(gateway);
      expect(await storedState(m1)).toEqual({ site_code: s1, gateway_id: g1, version: 1 });
      expect(ignoredFor(warnings, [m1])).toHaveLength(3);

      await publishClear(gateway, reportedTopic(s1, g1, m1));
      expect(await eventually(async () => (await storedState(m1)) === null)).toBe(true);
    });
  });

  it('moves with the asset: once deployed through another gateway, the old one can neither overwrite nor clear what the new one reported', async () => {
    const siteCode = `MOVED-${randomUUID().slice(0, 8)}`;
    const [oldGateway, newGateway] = [randomUUID(), randomUUID()];
    const asset = randomUUID();
    await deployThrough(siteCode, oldGateway, [asset]);
    await withBridge(async (gateway) => {
      await publishState(gateway, reportedTopic(siteCode, oldGateway, asset), asset, 1);
      expect(await eventually(async () => (await storedState(asset))?.version === 1)).toBe(true);

      // Moved: the deployment through the new gateway has not sent it yet; the old gateway's reports no longer count.
      const moved = await deployThrough(siteCode, newGateway, [asset], { sent: false });
      await publishState(gateway, reportedTopic(siteCode, oldGateway, asset), asset, 2);
      await settle(gateway);
      expect(await storedState(asset)).toEqual({ site_code: siteCode, gateway_id: oldGateway, version: 1 });

      await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1`, [moved]);
      await publishState(gateway, reportedTopic(siteCode, newGateway, asset), asset, 3);
      expect(await eventually(async () => (await storedState(asset))?.version === 3)).toBe(true);

      // The old gateway forgets the device (or replays what it ran): the new gateway's report stays.
      await publishState(gateway, reportedTopic(siteCode, oldGateway, asset), asset, 1);
      await publishClear(gateway, reportedTopic(siteCode, oldGateway, asset));
      await settle(gateway);
      expect(await storedState(asset)).toEqual({ site_code: siteCode, gateway_id: newGateway, version: 3 });
    });
  });
});
