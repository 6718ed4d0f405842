import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../../audit/migrate-audit.ts';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { configHash } from '../../core/config-hash.ts';
import type { AckPayload, ParsedTopic } from '../../mqtt/topics.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { ACKED_TOPIC } from './ack-relay.ts';
import { insertDeployment } from './deployment-store.ts';
import { applyAck, storeReportedStates } from './mqtt-bridge.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

const gatewayId = randomUUID();
const actor = { type: 'token' as const, id: 'token:test', name: 'test' };

/** A running deployment of one asset at version 2, its target in `status`. */
async function deploymentOf(status: 'pending' | 'sent' | 'timed_out', sentAt: Date | null = new Date()) {
  const id = randomUUID();
  const assetId = randomUUID();
  await withTransaction(db.pool, (client) =>
    insertDeployment(
      client,
      { id, orgId: randomUUID(), siteId: randomUUID(), batchSize: 1, failureThreshold: 0, timeoutMs: 1000, actor, requestId: 'req-1', comment: null },
      [{ assetId, gatewayId, siteCode: 'S-1', batch: 1, configVersion: 2, configHash: configHash({}), config: {} }],
    ),
  );
  await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = $2, sent_at = $3 WHERE deployment_id = $1`, [id, status, sentAt]);
  const topic: ParsedTopic = { siteCode: 'S-1', gatewayId, kind: 'ack', assetId };
  const ack = (over: Partial<AckPayload> = {}): AckPayload => ({ deploymentId: id, assetId, version: 2, status: 'applied', error: null, ...over });
  const target = async () => (await db.pool.query(`SELECT status, error FROM lifecycle.deployment_targets WHERE deployment_id = $1`, [id])).rows[0];
  const queued = async () => (await db.pool.query(`SELECT payload FROM lifecycle.outbox WHERE topic = $1 AND key = $2`, [ACKED_TOPIC, assetId])).rows.map((r) => r.payload);
  return { id, assetId, topic, ack, target, queued };
}

describe('applyAck', () => {
  it('acknowledges a sent target once, and queues its version once, however often the ack arrives', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('acked');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('duplicate');
    expect(await applyAck(db.pool, d.topic, d.ack({ status: 'rejected', error: 'too late to change my mind' }))).toBe('duplicate');
    expect(await d.target()).toEqual({ status: 'acked', error: null });
    expect(await d.queued()).toEqual([{ deploymentId: d.id, assetId: d.assetId, version: 2, requestId: 'req-1' }]);
  });

  it('fails a target its gateway rejects, with the gateway’s reason, and queues nothing', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAck(db.pool, d.topic, d.ack({ status: 'rejected', error: 'bus busy' }))).toBe('failed');
    expect(await d.target()).toEqual({ status: 'failed', error: 'rejected by the gateway: bus busy' });
    expect(await d.queued()).toEqual([]);
  });

  it('ignores acks of another version, gateway or site, and acks of no target', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAck(db.pool, d.topic, d.ack({ version: 1 }))).toBe('mismatch');
    expect(await applyAck(db.pool, { ...d.topic, gatewayId: randomUUID() }, d.ack())).toBe('mismatch');
    expect(await applyAck(db.pool, { ...d.topic, siteCode: 'S-2' }, d.ack())).toBe('mismatch');
    expect(await applyAck(db.pool, d.topic, d.ack({ deploymentId: randomUUID() }))).toBe('unknown');
    expect(await d.target()).toEqual({ status: 'sent', error: null });
    expect(await d.queued()).toEqual([]);
  });

  it('records a late ack of a timed-out target as deployed once, leaving the target timed out', async () => {
    const d = await deploymentOf('timed_out');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('late');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('duplicate');
    expect(await d.target()).toMatchObject({ status: 'timed_out', error: expect.stringMatching(/^acknowledged late, at /) });
    expect(await d.queued()).toHaveLength(1);
  });
});

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
