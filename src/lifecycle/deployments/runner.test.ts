import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../../audit/migrate-audit.ts';
import { configHash } from '../../core/config-hash.ts';
import { createPool } from '../../db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import type { ConfigClient } from '../config-client.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { insertDeployment } from './deployment-store.ts';
import { createDeploymentRunner } from './runner.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

const config = { markDeployedMany: async () => [] } as unknown as ConfigClient;

/** A runner log that keeps what it was told: a step that failed says why here. */
const warnings: Array<{ msg: string; err: unknown }> = [];
const recordWarnings = () => ({ warn: (obj: { err?: unknown }, msg: string) => void warnings.push({ msg, err: obj.err }) });
afterEach(() => {
  expect(warnings).toEqual([]);
  warnings.length = 0;
});

/** A broker connection that takes `delayMs` to acknowledge each publish and counts them. */
function fakeBroker(delayMs: number) {
  const client = Object.assign(new EventEmitter(), { connected: true });
  const stats = { published: 0, inFlight: 0, maxInFlight: 0 };
  let onPublish = () => {};
  Object.assign(client, {
    async publishAsync() {
      onPublish();
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await sleep(delayMs);
      stats.inFlight--;
      stats.published++;
    },
  });
  return { mqtt: client as unknown as MqttClient, stats, reconnect: () => client.emit('connect'), onPublish: (fn: () => void) => (onPublish = fn) };
}

/** `n` running deployments of one asset each, on sites of their own, not started yet. */
async function deployments(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await withTransaction(db.pool, async (client) => {
    for (const id of ids) {
      await insertDeployment(
        client,
        { id, orgId: randomUUID(), siteId: randomUUID(), batchSize: 1, failureThreshold: 0, timeoutMs: 60_000, actor: { type: 'token', id: 'token:test', name: 'test' }, requestId: null, comment: null },
        [{ assetId: randomUUID(), gatewayId: randomUUID(), siteCode: 'S-1', batch: 1, configVersion: 1, configHash: configHash({}), config: {} }],
      );
    }
  });
  return ids;
}

const startedBatches = async (ids: string[]) =>
  (await db.pool.query<{ current_batch: number }>(`SELECT current_batch FROM lifecycle.deployments WHERE id = ANY($1::uuid[])`, [ids])).rows.map((r) => r.current_batch);
const owners = async (ids: string[]) =>
  new Set((await db.pool.query<{ runner_id: string }>(`SELECT runner_id FROM lifecycle.deployments WHERE id = ANY($1::uuid[])`, [ids])).rows.map((r) => r.runner_id));
const finishBatches = (ids: string[]) => db.pool.query(`UPDATE lifecycle.deployments SET status = 'succeeded' WHERE id = ANY($1::uuid[])`, [ids]);

describe('the deployment runner', () => {
  it('steps the running deployments several to a transaction, transactions side by side, all of them in one round, on no more connections than its concurrency', async () => {
    const ids = await deployments(12);
    const broker = fakeBroker(100);
    const pool = createPool(db.url, { max: 10 });
    let connections = 0;
    broker.onPublish(() => (connections = Math.max(connections, pool.totalCount - pool.idleCount)));
    try {
      const runner = createDeploymentRunner({ pool, mqtt: broker.mqtt, config, stepConcurrency: 3, log: recordWarnings() });
      const started = Date.now();
      await runner.tick();
      expect(await startedBatches(ids)).toEqual(Array(12).fill(1));
      expect(broker.stats.published).toBe(12);
      expect(connections).toBeGreaterThan(1);
      expect(connections).toBeLessThanOrEqual(3);
      // Not twelve publishes one after the other.
      expect(Date.now() - started).toBeLessThan(12 * 100);
    } finally {
      await finishBatches(ids);
      await pool.end();
    }
  });

  it('leaves deployments that only wait for their devices alone but keeps its claim on them, and sends again after a reconnect', async () => {
    const ids = await deployments(3);
    const broker = fakeBroker(1);
    const timing = { intervalMs: 50, leaseMs: 300 };
    const runner = createDeploymentRunner({ pool: db.pool, mqtt: broker.mqtt, config, ...timing, log: recordWarnings() });
    runner.start();
    for (let i = 0; i < 100 && ((await startedBatches(ids)).includes(0) || broker.stats.published < 3); i++) await sleep(20);
    const [owner] = await owners(ids);
    expect(owner).toEqual(expect.any(String));
    // Another instance looks for work all the while; rounds go on for longer than the lease,
    // with nothing to do for these deployments.
    const other = createDeploymentRunner({ pool: db.pool, mqtt: fakeBroker(1).mqtt, config, ...timing, log: recordWarnings() });
    other.start();
    try {
      await sleep(1000);
      expect(broker.stats.published).toBe(3);
      expect(await owners(ids)).toEqual(new Set([owner]));
      // Acks may have gone unheard while the broker was away: what is still unanswered goes out again.
      broker.reconnect();
      for (let i = 0; i < 100 && broker.stats.published < 6; i++) await sleep(20);
      expect(broker.stats.published).toBe(6);
    } finally {
      await other.stop();
      await runner.stop();
      await finishBatches(ids);
    }
  });
});
