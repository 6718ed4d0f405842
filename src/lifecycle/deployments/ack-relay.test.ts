import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { ConfigServiceError, type ConfigClient } from '../config-client.ts';
import { migrateLifecycleSchema, pruneOwnRows } from '../service.ts';
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
  /** The acks of an asset still in the outbox, oldest first: `version/deployment`. */
  const kept = async (assetId: string) =>
    (await db.pool.query<{ v: string }>(`SELECT concat(payload->>'version', '/', payload->>'deploymentId') AS v FROM lifecycle.outbox WHERE key = $1 ORDER BY id`, [assetId])).rows.map(
      (r) => r.v,
    );
  /** Acks of `versions` for `assetId`, queued `daysAgo` and relayed then (or not), without the relay. */
  const rows = (assetId: string, versions: number[], opts: { daysAgo: number; relayed: boolean }) =>
    db.pool.query(
      `INSERT INTO lifecycle.outbox (topic, key, payload, created_at, published_at)
       SELECT 'lifecycle.deployment.acked', $1, jsonb_build_object('deploymentId', 'd' || n, 'assetId', $1::text, 'version', v, 'requestId', null),
              now() - $3 * interval '1 day', CASE WHEN $4 THEN now() - $3 * interval '1 day' END
         FROM unnest($2::int[]) WITH ORDINALITY AS x(v, n) ORDER BY n`,
      [assetId, versions, opts.daysAgo, opts.relayed],
    );

  it('keeps of each asset only its newest relayed ack and the one that supersedes the others, once older than the retention', async () => {
    const [a, b, c, d, e] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await rows(a, [1, 2, 3], { daysAgo: 10, relayed: true });
    await rows(b, [1], { daysAgo: 10, relayed: true });
    await rows(c, [1, 2], { daysAgo: 2, relayed: true }); // younger than the retention
    await rows(d, [5, 5, 3], { daysAgo: 10, relayed: true }); // the highest is not the newest
    await rows(e, [1], { daysAgo: 10, relayed: false }); // old, never relayed: waits for the relay
    await rows(e, [2], { daysAgo: 10, relayed: true });
    await rows(e, [3], { daysAgo: 1, relayed: true });

    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(4); // a's 1 and 2, d's first 5, e's 2
    expect(await kept(a)).toEqual(['3/d3']);
    expect(await kept(b)).toEqual(['1/d1']);
    expect(await kept(c)).toEqual(['1/d1', '2/d2']);
    expect(await kept(d)).toEqual(['5/d2', '3/d3']); // the later of the two 5s supersedes every other ack; the 3 is the newest
    expect(await kept(e)).toEqual(['1/d1', '3/d1']);
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

  it('goes through many acks of one asset, and assets more than one statement looks at', async () => {
    const one = randomUUID();
    await rows(one, Array.from({ length: 12_001 }, (_, i) => i + 1), { daysAgo: 30, relayed: true });
    const many = Array.from({ length: 1500 }, () => randomUUID());
    for (const id of many) await rows(id, [1, 2], { daysAgo: 30, relayed: true });
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(12_000 + 1500);
    expect(await kept(one)).toEqual(['12001/d12001']);
    const left = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycle.outbox WHERE key = ANY($1::text[])`, [many]);
    expect(left.rows[0].n).toBe(1500);
    expect(await pruneRelayedAcks(db.pool, 7 * DAY)).toBe(0);
  });
});

describe("the lifecycle service's own rows", () => {
  it('are pruned in one round: relayed acks, and assets out of service for longer than the retention', async () => {
    const [asset, gone, recent] = [randomUUID(), randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO lifecycle.outbox (topic, key, payload, created_at, published_at)
       SELECT 'lifecycle.deployment.acked', $1, jsonb_build_object('deploymentId', gen_random_uuid(), 'assetId', $1::text, 'version', v, 'requestId', null),
              now() - interval '10 days', now() - interval '10 days'
         FROM generate_series(1, 3) AS v ORDER BY v`,
      [asset],
    );
    await db.pool.query(
      `INSERT INTO lifecycle.assets_out_of_service (asset_id, site_id, how, site_revision, since, source)
       VALUES ($1, $3, 'deleted', 4, now() - interval '10 days', 'test'), ($2, $3, 'retired', 9, now() - interval '1 day', 'test')`,
      [gone, recent, randomUUID()],
    );
    expect(await pruneOwnRows(db.pool, 7 * 86_400_000)).toBe(3);
    const left = await db.pool.query<{ asset_id: string }>(`SELECT asset_id FROM lifecycle.assets_out_of_service`);
    expect(left.rows.map((r) => r.asset_id)).toEqual([recent]);
    expect((await db.pool.query(`SELECT 1 FROM lifecycle.outbox WHERE key = $1`, [asset])).rowCount).toBe(1);
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
