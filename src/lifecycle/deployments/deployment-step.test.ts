import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../../audit/migrate-audit.ts';
import { configHash } from '../../core/config-hash.ts';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { enqueueAcked } from './ack-relay.ts';
import { stepDeployments } from './deployment-step.ts';
import { insertDeployment } from './deployment-store.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

type Status = 'pending' | 'sent' | 'acked' | 'failed' | 'timed_out';

/** A running deployment in batch `current` of batches of one target each, the targets in `statuses`. */
async function deployment(current: number, statuses: Status[], opts: { sentMsAgo?: number; failureThreshold?: number } = {}) {
  const id = randomUUID();
  const siteId = randomUUID();
  const assets = statuses.map(() => randomUUID());
  await withTransaction(db.pool, (client) =>
    insertDeployment(
      client,
      { id, orgId: randomUUID(), siteId, batchSize: 1, failureThreshold: opts.failureThreshold ?? 1, timeoutMs: 1000, actor: { type: 'token', id: 'token:test', name: 'test' }, requestId: null, comment: null },
      assets.map((assetId, i) => ({ assetId, gatewayId: randomUUID(), siteCode: 'S-1', batch: i + 1, configVersion: 1, configHash: configHash({}), config: {} })),
    ),
  );
  await db.pool.query(`UPDATE lifecycle.deployments SET current_batch = $2 WHERE id = $1`, [id, current]);
  for (const [i, status] of statuses.entries()) {
    const sentAt = status === 'pending' ? null : new Date(Date.now() - (opts.sentMsAgo ?? 0));
    await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = $3, sent_at = $4 WHERE deployment_id = $1 AND asset_id = $2`, [id, assets[i], status, sentAt]);
  }
  return { id, siteId, assets };
}

const stateOf = async (id: string) => {
  const d = (await db.pool.query(`SELECT status, current_batch, reason FROM lifecycle.deployments WHERE id = $1`, [id])).rows[0];
  const targets = (await db.pool.query(`SELECT status FROM lifecycle.deployment_targets WHERE deployment_id = $1 ORDER BY batch`, [id])).rows.map((r) => r.status);
  const steps = (await db.pool.query(`SELECT action FROM audit.events WHERE entity_id = $1 ORDER BY seq`, [id])).rows.map((r) => r.action);
  return { ...d, targets, steps };
};

describe('stepping several deployments in one transaction', () => {
  it('gives each what stepping it alone would: a next batch, a wait, a finish, an abort, a timeout', async () => {
    const next = await deployment(1, ['acked', 'pending']);
    const waiting = await deployment(1, ['sent', 'pending']);
    const recording = await deployment(1, ['acked', 'pending']);
    await withTransaction(db.pool, (client) => enqueueAcked(client, { deploymentId: recording.id, assetId: recording.assets[0], version: 1, requestId: null }));
    const done = await deployment(2, ['acked', 'failed']);
    const aborted = await deployment(1, ['failed', 'pending', 'pending'], { failureThreshold: 0.2 });
    const silent = await deployment(1, ['sent', 'pending'], { sentMsAgo: 5000 });
    const ids = [next, waiting, recording, done, aborted, silent].map((d) => d.id);

    const sends = await withTransaction(db.pool, (client) => stepDeployments(client, ids, () => true));

    // The second batches of the two that start one, in deployment order.
    const expected = [next, silent].map((d) => [d.id, d.assets[1]]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(sends.map((t) => [t.deploymentId, t.assetId])).toEqual(expected);
    expect(await stateOf(next.id)).toMatchObject({ status: 'running', current_batch: 2, targets: ['acked', 'sent'], steps: ['finish-batch', 'start-batch'] });
    expect(await stateOf(waiting.id)).toMatchObject({ status: 'running', current_batch: 1, targets: ['sent', 'pending'], steps: [] });
    expect(await stateOf(recording.id)).toMatchObject({ status: 'running', current_batch: 1, targets: ['acked', 'pending'], steps: [] });
    expect(await stateOf(done.id)).toMatchObject({ status: 'failed', current_batch: 2, steps: ['finish-batch', 'finish'] });
    expect(await stateOf(aborted.id)).toMatchObject({ status: 'aborted', targets: ['failed', 'cancelled', 'cancelled'], steps: ['finish-batch', 'abort'] });
    // Timed out, it is settled; with the failure threshold at 100 % the next batch starts.
    expect(await stateOf(silent.id)).toMatchObject({ status: 'running', current_batch: 2, targets: ['timed_out', 'sent'], steps: ['finish-batch', 'start-batch'] });
  });

  it('sends again what the caller has not published itself, leaving the rest of the batch waiting', async () => {
    const d = await deployment(1, ['sent', 'pending']);
    const sends = await withTransaction(db.pool, (client) => stepDeployments(client, [d.id], () => false));
    expect(sends.map((t) => t.assetId)).toEqual([d.assets[0]]);
    expect(await stateOf(d.id)).toMatchObject({ current_batch: 1, targets: ['sent', 'pending'], steps: [] });
  });

  it('records the events of a deployment in the order of its steps, each later than the one before', async () => {
    const d = await deployment(1, ['acked', 'pending']);
    await withTransaction(db.pool, (client) => stepDeployments(client, [d.id], () => true));
    const { rows } = await db.pool.query(`SELECT action, at FROM audit.events WHERE entity_id = $1 ORDER BY seq`, [d.id]);
    expect(rows.map((r) => r.action)).toEqual(['finish-batch', 'start-batch']);
    expect(rows[1].at.getTime()).toBeGreaterThan(rows[0].at.getTime());
  });
});
