import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { ConfigServiceError, type ConfigClient } from '../config-client.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { ackQueued, enqueueAcked, hasUnrelayedAcks, pruneRelayedAcks, relayAcks } from './ack-relay.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());
beforeEach(() => db.pool.query(`TRUNCATE lifecycle.outbox`));

const log = { warn: () => {} };

/** A configuration service that records what it is told and answers with `fail` when set. */
function fakeConfig(fail?: () => Error) {
  const recorded: Array<[string, number | null]> = [];
  const client = {
    async markDeployed(assetId: string, version: number | null) {
      if (fail) throw fail();
      recorded.push([assetId, version]);
    },
  } as unknown as ConfigClient;
  return { client, recorded };
}

const queue = (deploymentId: string, assetId: string, version: number) =>
  withTransaction(db.pool, (client) => enqueueAcked(client, { deploymentId, assetId, version, requestId: null }));

describe('relayAcks', () => {
  it('records each acknowledged version with the configuration service, then never again', async () => {
    const [d, a, b] = [randomUUID(), randomUUID(), randomUUID()];
    await queue(d, a, 2);
    await queue(d, b, 5);
    const config = fakeConfig();
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(true);
    expect(await relayAcks(db.pool, config.client, log)).toBe(2);
    expect(config.recorded).toEqual([[a, 2], [b, 5]]);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(false);
    expect(await relayAcks(db.pool, config.client, log)).toBe(0);
    expect(config.recorded).toHaveLength(2);
  });

  it('records only the highest acknowledged version of an asset, whatever order the acks came in', async () => {
    const a = randomUUID();
    await queue(randomUUID(), a, 3);
    await queue(randomUUID(), a, 2);
    const config = fakeConfig();
    await relayAcks(db.pool, config.client, log);
    expect(config.recorded).toEqual([[a, 3]]);
    await queue(randomUUID(), a, 1);
    await relayAcks(db.pool, config.client, log);
    expect(config.recorded).toEqual([[a, 3]]);
  });

  it('keeps an ack for later while the configuration service is down, and settles it once it answers', async () => {
    const d = randomUUID();
    await queue(d, randomUUID(), 1);
    expect(await relayAcks(db.pool, fakeConfig(() => new ConfigServiceError(503, {})).client, log)).toBe(0);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(true);
    expect(await relayAcks(db.pool, fakeConfig().client, log)).toBe(1);
  });

  it('settles an ack the configuration service refuses for good (409, 404) instead of retrying forever', async () => {
    const d = randomUUID();
    await queue(d, randomUUID(), 1);
    const refused = fakeConfig(() => new ConfigServiceError(409, { detail: 'unit id 5 is taken' }));
    expect(await relayAcks(db.pool, refused.client, log)).toBe(1);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(false);
  });
});

/** A configuration service that records acks in bulk (once `until` resolves), refusing the assets in `refuse`, or failing as a whole. */
function fakeBulkConfig(opts: { refuse?: Map<string, number>; fail?: () => Error; until?: Promise<void> } = {}) {
  const calls: Array<Array<[string, number | null]>> = [];
  const client = {
    async markDeployed() {
      throw new Error('the batched relay records through markDeployedMany only');
    },
    async markDeployedMany(items: Array<{ assetId: string; configVersion: number | null }>) {
      await opts.until;
      if (opts.fail) throw opts.fail();
      calls.push(items.map((i) => [i.assetId, i.configVersion]));
      return items.map((i) => {
        const status = opts.refuse?.get(i.assetId);
        return status ? new ConfigServiceError(status, { detail: 'refused' }) : null;
      });
    },
  } as unknown as ConfigClient;
  return { client, calls };
}

describe('pruneRelayedAcks', () => {
  const DAY = 86_400_000;
  /** Ages every ack queued so far by `days`, as if queued (and, when relayed, relayed) that long ago. */
  const age = (days: number) =>
    db.pool.query(`UPDATE lifecycle.outbox SET created_at = created_at - $1 * interval '1 day', published_at = published_at - $1 * interval '1 day'`, [days]);
  const kept = async (assetId: string) =>
    (await db.pool.query<{ v: number }>(`SELECT (payload->>'version')::int AS v FROM lifecycle.outbox WHERE key = $1 ORDER BY id`, [assetId])).rows.map((r) => r.v);

  it('keeps of each asset only its newest relayed ack and the one that supersedes the others, once older than the retention', async () => {
    const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const deployments = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, v] of [1, 2, 3].entries()) await queue(deployments[i], a, v);
    await queue(randomUUID(), b, 1);
    // d: the highest version is not the newest ack (two of version 5, then a 3).
    await queue(randomUUID(), d, 5);
    await queue(randomUUID(), d, 5);
    await queue(randomUUID(), d, 3);
    await relayAcks(db.pool, fakeConfig().client, log);
    await age(10);
    // c: relayed two days ago; then an ack of a that is not relayed yet.
    await queue(randomUUID(), c, 1);
    await queue(randomUUID(), c, 2);
    await relayAcks(db.pool, fakeConfig().client, log);
    await age(2);
    await queue(deployments[0], a, 4);

    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(4);
    expect(await kept(a)).toEqual([4]); // the newest and the highest, not relayed yet: 1, 2 and 3 went
    expect(await kept(b)).toEqual([1]);
    expect(await kept(c)).toEqual([1, 2]);
    expect(await kept(d)).toEqual([5, 3]); // the later 5 (supersedes every other) and the newest
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(0);
  });

  it('leaves what tells a late ack superseded: an older version acked again is not recorded', async () => {
    const a = randomUUID();
    const [old, newer] = [randomUUID(), randomUUID()];
    await queue(old, a, 1);
    await queue(newer, a, 2);
    await queue(randomUUID(), a, 2);
    const config = fakeConfig();
    await relayAcks(db.pool, config.client, log);
    await age(10);
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(2);
    // The first deployment's row went: its late ack is queued again, and the relay settles it unrecorded.
    expect(await withTransaction(db.pool, (client) => ackQueued(client, old, a))).toBe(false);
    await queue(old, a, 1);
    await relayAcks(db.pool, config.client, log);
    expect(config.recorded).toEqual([[a, 2]]);
    expect(await hasUnrelayedAcks(db.pool, old)).toBe(false);
  });

  it('goes through more than one statement of deletions', async () => {
    const a = randomUUID();
    await db.pool.query(
      `INSERT INTO lifecycle.outbox (topic, key, payload, created_at, published_at)
       SELECT 'lifecycle.deployment.acked', $1, jsonb_build_object('deploymentId', gen_random_uuid(), 'assetId', $1::text, 'version', n, 'requestId', null),
              now() - interval '30 days', now() - interval '30 days'
         FROM generate_series(1, 12001) AS n ORDER BY n`,
      [a],
    );
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(12000);
    expect(await kept(a)).toEqual([12001]);
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(0);
  });
});

describe('relayAcks against a configuration service that records in bulk', () => {
  it('records the queued acks in one call, the highest version of each asset only', async () => {
    const [d, a, b] = [randomUUID(), randomUUID(), randomUUID()];
    await queue(d, a, 2);
    await queue(d, b, 5);
    await queue(d, a, 3);
    const config = fakeBulkConfig();
    expect(await relayAcks(db.pool, config.client, log)).toBe(3);
    expect(config.calls).toEqual([[[b, 5], [a, 3]]]);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(false);
  });

  it('settles a refused ack and notes why on its target; keeps every ack while the service is down', async () => {
    const [d, a, b] = [randomUUID(), randomUUID(), randomUUID()];
    await queue(d, a, 1);
    await queue(d, b, 1);
    expect(await relayAcks(db.pool, fakeBulkConfig({ fail: () => new ConfigServiceError(503, {}) }).client, log)).toBe(0);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(true);
    const config = fakeBulkConfig({ refuse: new Map([[a, 409]]) });
    expect(await relayAcks(db.pool, config.client, log)).toBe(2);
    expect(config.calls).toEqual([[[a, 1], [b, 1]]]);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(false);
  });
});

describe('relays side by side', () => {
  it('share the queued acks without holding a connection while the configuration service records them', async () => {
    const [d, a] = [randomUUID(), randomUUID()];
    await queue(d, a, 1);
    let release: () => void = () => {};
    const slow = fakeBulkConfig({ until: new Promise<void>((resolve) => (release = resolve)) });
    const recording = relayAcks(db.pool, slow.client, log);
    await new Promise((r) => setTimeout(r, 100));
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    const other = fakeBulkConfig();
    expect(await relayAcks(db.pool, other.client, log)).toBe(0);
    expect(other.calls).toEqual([]);
    release();
    expect(await recording).toBe(1);
    expect(slow.calls).toEqual([[[a, 1]]]);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(false);
  });

  it('take over the acks of a relay that stopped halfway once its claim has lapsed', async () => {
    const [d, lapsed, held] = [randomUUID(), randomUUID(), randomUUID()];
    await queue(d, lapsed, 1);
    await queue(d, held, 1);
    await db.pool.query(`UPDATE lifecycle.outbox SET claimed_until = now() - interval '1 second' WHERE key = $1`, [lapsed]);
    await db.pool.query(`UPDATE lifecycle.outbox SET claimed_until = now() + interval '1 minute' WHERE key = $1`, [held]);
    const config = fakeBulkConfig();
    expect(await relayAcks(db.pool, config.client, log)).toBe(1);
    expect(config.calls).toEqual([[[lapsed, 1]]]);
    expect(await hasUnrelayedAcks(db.pool, d)).toBe(true);
  });
});
