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
import { applyAck, applyAcks, type ReceivedAck } from './apply-acks.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

const gatewayId = randomUUID();
const actor = { type: 'token' as const, id: 'token:test', name: 'test' };

/** A running deployment of one asset (a new one unless given) at version 2, its target in `status`. */
async function deploymentOf(status: 'pending' | 'sent' | 'timed_out' | 'cancelled', sentAt: Date | null = new Date(), assetId: string = randomUUID()) {
  const id = randomUUID();
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
  /** Whether the target records when it was acknowledged (commissioning reads it). */
  const ackedAt = async () => (await db.pool.query(`SELECT acked_at FROM lifecycle.deployment_targets WHERE deployment_id = $1`, [id])).rows[0].acked_at as Date | null;
  const received = (over: Partial<AckPayload> = {}): ReceivedAck => ({ topic, ack: ack(over) });
  return { id, assetId, topic, ack, received, target, queued, ackedAt };
}

describe('applyAck', () => {
  it('acknowledges a sent target once, and queues its version once, however often the ack arrives', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('acked');
    expect(await applyAck(db.pool, d.topic, d.ack())).toBe('duplicate');
    expect(await applyAck(db.pool, d.topic, d.ack({ status: 'rejected', error: 'too late to change my mind' }))).toBe('duplicate');
    expect(await d.target()).toEqual({ status: 'acked', error: null });
    expect(await d.ackedAt()).toBeInstanceOf(Date);
    expect(await d.queued()).toEqual([{ deploymentId: d.id, assetId: d.assetId, version: 2, requestId: 'req-1' }]);
  });

  it('fails a target its gateway rejects, with the gateway’s reason, and queues nothing', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAck(db.pool, d.topic, d.ack({ status: 'rejected', error: 'bus busy' }))).toBe('failed');
    expect(await d.target()).toEqual({ status: 'failed', error: 'rejected by the gateway: bus busy' });
    expect(await d.ackedAt()).toBeNull();
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
    expect(await d.ackedAt()).toBeInstanceOf(Date);
    expect(await d.queued()).toHaveLength(1);
  });
});

describe('applyAcks, a burst in one transaction', () => {
  it('applies several acks of one target in arrival order: the first answer decides, the rest are duplicates', async () => {
    const a = await deploymentOf('sent');
    const b = await deploymentOf('sent');
    expect(await applyAcks(db.pool, [a.received(), b.received({ status: 'rejected', error: 'bus busy' }), a.received(), a.received({ status: 'rejected', error: 'no' }), b.received()])).toEqual([
      'acked',
      'failed',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(await a.target()).toEqual({ status: 'acked', error: null });
    expect(await a.queued()).toEqual([{ deploymentId: a.id, assetId: a.assetId, version: 2, requestId: 'req-1' }]);
    expect(await b.target()).toEqual({ status: 'failed', error: 'rejected by the gateway: bus busy' });
    expect(await b.queued()).toEqual([]);
  });

  it('gives each ack of a mixed burst the outcome it would have alone, and writes only what those outcomes say', async () => {
    const open = await deploymentOf('pending');
    const rejected = await deploymentOf('sent');
    const late = await deploymentOf('timed_out');
    const cancelledUnsent = await deploymentOf('cancelled', null);
    const other = await deploymentOf('sent');
    const outcomes = await applyAcks(db.pool, [
      late.received({ status: 'rejected', error: 'gave up' }),
      open.received(),
      other.received({ version: 1 }),
      { topic: { ...other.topic, assetId: open.assetId }, ack: other.ack() },
      rejected.received({ status: 'rejected', error: null }),
      other.received({ deploymentId: randomUUID() }),
      late.received(),
      cancelledUnsent.received(),
      late.received(),
    ]);
    expect(outcomes).toEqual(['duplicate', 'acked', 'mismatch', 'mismatch', 'failed', 'unknown', 'late', 'duplicate', 'duplicate']);
    expect(await open.target()).toEqual({ status: 'acked', error: null });
    expect(await rejected.target()).toEqual({ status: 'failed', error: 'rejected by the gateway: no reason given' });
    expect(await late.target()).toMatchObject({ status: 'timed_out', error: expect.stringMatching(/^acknowledged late, at [^;]+$/) });
    expect(await cancelledUnsent.target()).toEqual({ status: 'cancelled', error: null });
    expect(await other.target()).toEqual({ status: 'sent', error: null });
    expect((await open.queued()).length + (await late.queued()).length).toBe(2);
    expect([...(await rejected.queued()), ...(await cancelledUnsent.queued()), ...(await other.queued())]).toEqual([]);
  });

  it('queues the acknowledged versions in arrival order, also two deployments of one asset', async () => {
    const first = await deploymentOf('sent');
    const second = await deploymentOf('sent', new Date(), first.assetId);
    expect(await applyAcks(db.pool, [second.received(), first.received()])).toEqual(['acked', 'acked']);
    const { rows } = await db.pool.query(`SELECT payload->>'deploymentId' AS d FROM lifecycle.outbox WHERE topic = $1 AND key = $2 ORDER BY id`, [ACKED_TOPIC, first.assetId]);
    expect(rows.map((r) => r.d)).toEqual([second.id, first.id]);
  });

  it('changes nothing twice when the same burst is applied again, or by two instances at once', async () => {
    const ds = await Promise.all([deploymentOf('sent'), deploymentOf('sent'), deploymentOf('timed_out')]);
    const burst = ds.map((d) => d.received());
    const [one, two] = await Promise.all([applyAcks(db.pool, burst), applyAcks(db.pool, [...burst].reverse())]);
    for (const [i, d] of ds.entries()) {
      const pair = [one[i], two[ds.length - 1 - i]].sort();
      expect(pair).toEqual([i === 2 ? 'late' : 'acked', 'duplicate'].sort());
      expect(await d.queued()).toHaveLength(1);
    }
    expect(await applyAcks(db.pool, burst)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    for (const d of ds) expect(await d.queued()).toHaveLength(1);
    expect((await ds[2].target()).error.match(/acknowledged late/g)).toHaveLength(1);
  });

  it('answers a burst of acks that match nothing without touching the database', async () => {
    const d = await deploymentOf('sent');
    expect(await applyAcks(db.pool, [{ topic: { ...d.topic, assetId: randomUUID() }, ack: d.ack() }])).toEqual(['mismatch']);
    expect(await applyAcks(db.pool, [])).toEqual([]);
    expect(await d.target()).toEqual({ status: 'sent', error: null });
  });
});
