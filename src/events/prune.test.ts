import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installAuth } from '../auth/install-auth.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { buildHttpApp } from '../http/app.ts';
import { eventFeedRoutes, readOutbox } from './feed.ts';
import { outboxRetentionFromEnv, pruneOutbox, readerRecorder, recordReader, startOutboxPruner } from './prune.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL, payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, feed_seq bigint UNIQUE);
    CREATE TABLE shop.feed_readers (reader text PRIMARY KEY, position bigint NOT NULL, seen_at timestamptz NOT NULL DEFAULT now());`);
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.pool.query(`TRUNCATE shop.outbox, shop.feed_readers`);
});

const DAY = 86_400_000;
const ORDER = { order: 'sequenced' as const, excludeTopics: ['shop.relay'] };

/** Events 1…n, event i created `ageDays(i)` days ago and given feed position i (or none, for `unsequenced`). */
async function events(n: number, ageDays: (i: number) => number, opts: { topic?: string; unsequenced?: boolean; relayedDaysAgo?: number } = {}) {
  for (let i = 1; i <= n; i++) {
    await db.pool.query(
      `INSERT INTO shop.outbox (topic, key, payload, created_at, feed_seq, published_at)
       VALUES ($1, $2, '{}', now() - $3 * interval '1 day', $4, now() - $5 * interval '1 day')`,
      [opts.topic ?? 'shop.thing.updated', `k${i}`, ageDays(i), opts.unsequenced ? null : i, opts.relayedDaysAgo ?? null],
    );
  }
}
const positions = async () => (await db.pool.query<{ p: string | null; topic: string }>(`SELECT feed_seq AS p, topic FROM shop.outbox ORDER BY id`)).rows.map((r) => (r.p === null ? r.topic : Number(r.p)));

describe('pruning an outbox', () => {
  it('deletes events older than the retention that every reader has read past, and nothing else', async () => {
    await events(10, (i) => (i <= 6 ? 10 : 1)); // 1–6 are ten days old, 7–10 one day
    await recordReader(db.pool, 'shop', 'lifecycle', 8);
    await recordReader(db.pool, 'shop', 'audit-export', 4);
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(4);
    expect(await positions()).toEqual([5, 6, 7, 8, 9, 10]);

    // The slow reader catches up: what it read and is old goes; what is young stays, read or not.
    await recordReader(db.pool, 'shop', 'audit-export', 10);
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(2);
    expect(await positions()).toEqual([7, 8, 9, 10]);
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(0);
  });

  it('keeps the newest event, from which the next feed positions are given, and serves the rest in order', async () => {
    await events(3, () => 30);
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(2);
    expect(await positions()).toEqual([3]);
    await db.pool.query(`INSERT INTO shop.outbox (topic, key, payload) VALUES ('shop.thing.created', 'new', '{}')`);
    const page = await readOutbox(db.pool, 'shop', { after: 3, limit: 10 }, ORDER);
    expect(page.items.map((e) => [e.id, e.key])).toEqual([[4, 'new']]);
  });

  it('with no reader, goes by the retention alone; never deletes what has no feed position yet', async () => {
    await events(4, () => 30);
    await events(2, () => 30, { unsequenced: true });
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(3);
    expect(await positions()).toEqual([4, 'shop.thing.updated', 'shop.thing.updated']);
  });

  it('never deletes rows kept for the service’s own relay (not served by the feed)', async () => {
    await events(3, () => 30, { topic: 'shop.relay', unsequenced: true, relayedDaysAgo: 20 });
    await events(2, () => 30);
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(1);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shop.outbox WHERE topic = 'shop.relay'`)).rows[0].n).toBe(3);
  });

  it('goes through a backlog larger than one statement', async () => {
    await db.pool.query(
      `INSERT INTO shop.outbox (topic, key, payload, created_at, feed_seq)
       SELECT 'shop.thing.updated', 'k' || g, '{}', now() - interval '30 days', g FROM generate_series(1, 12001) g`,
    );
    expect(await pruneOutbox(db.pool, 'shop', ORDER, 7 * DAY)).toBe(12000);
    expect(await positions()).toEqual([12001]);
  });
});

describe('readers of a feed', () => {
  it('are recorded when they move, at most every interval, and at once when they move back', async () => {
    const record = readerRecorder(db.pool, 'shop', 60_000);
    const stored = async () => (await db.pool.query<{ reader: string; position: string }>(`SELECT reader, position FROM shop.feed_readers ORDER BY reader`)).rows.map((r) => [r.reader, Number(r.position)]);
    await record('lifecycle', 5);
    await record('lifecycle', 9); // within the interval: not written yet
    expect(await stored()).toEqual([['lifecycle', 5]]);
    await record('lifecycle', 2); // moved back (its cursor was reset): written at once
    await record('config', 7);
    expect(await stored()).toEqual([['config', 7], ['lifecycle', 2]]);
    // A record of an earlier request that lands late (another instance) changes nothing.
    await recordReader(db.pool, 'shop', 'config', 40, new Date(Date.now() - 60_000));
    expect(await stored()).toEqual([['config', 7], ['lifecycle', 2]]);
  });

  it('of an id-ordered feed (the admin feed) bound its pruning the same way', async () => {
    await events(5, () => 30, { unsequenced: true });
    const ids = (await db.pool.query<{ id: string }>(`SELECT id FROM shop.outbox ORDER BY id`)).rows.map((r) => Number(r.id));
    await recordReader(db.pool, 'shop', 'config', ids[2]);
    expect(await pruneOutbox(db.pool, 'shop', { order: 'id' }, 7 * DAY)).toBe(3);
    expect((await db.pool.query<{ id: string }>(`SELECT id FROM shop.outbox ORDER BY id`)).rows.map((r) => Number(r.id))).toEqual(ids.slice(3));
  });

  it('take their retention from REMA_OUTBOX_RETENTION_HOURS, refusing what is not a number of hours', () => {
    expect(outboxRetentionFromEnv({})).toBe(7 * DAY);
    expect(outboxRetentionFromEnv({ REMA_OUTBOX_RETENTION_HOURS: '48' })).toBe(2 * DAY);
    expect(() => outboxRetentionFromEnv({ REMA_OUTBOX_RETENTION_HOURS: 'a week' })).toThrow(/at least 1/);
    expect(() => outboxRetentionFromEnv({ REMA_OUTBOX_RETENTION_HOURS: '0' })).toThrow(/at least 1/);
  });
});

describe('the pruner', () => {
  it('prunes the service’s own rows even when pruning the feed fails, and reports the failure', async () => {
    let own = 0;
    const pruner = startOutboxPruner({ pool: db.pool, schema: 'nowhere', order: ORDER, retentionMs: 7 * DAY, intervalMs: 3_600_000, pruneOwn: async () => ++own, log: { warn: () => {} } });
    try {
      await expect(pruner.pruneNow()).rejects.toThrow(/nowhere/);
      expect(own).toBe(1);
    } finally {
      pruner.stop();
    }
  });

  it('warns, each round, of readers not seen for longer than the retention: they hold the outbox back', async () => {
    await events(4, () => 30);
    await recordReader(db.pool, 'shop', 'retired-integration', 2, new Date(Date.now() - 30 * DAY));
    await recordReader(db.pool, 'shop', 'lifecycle', 4);
    const warnings: Array<{ obj: object; msg: string }> = [];
    const pruner = startOutboxPruner({ pool: db.pool, schema: 'shop', order: ORDER, retentionMs: 7 * DAY, intervalMs: 3_600_000, log: { warn: (obj, msg) => warnings.push({ obj, msg }) } });
    try {
      expect(await pruner.pruneNow()).toBe(2); // held back at position 2
      expect(warnings).toEqual([
        {
          obj: { schema: 'shop', readers: [{ reader: 'retired-integration', position: 2, seenAt: expect.any(String) }] },
          msg: expect.stringContaining("DELETE FROM shop.feed_readers WHERE reader = '<reader>'"),
        },
      ]);
      await db.pool.query(`DELETE FROM shop.feed_readers WHERE reader = 'retired-integration'`);
      expect(await pruner.pruneNow()).toBe(1); // up to the last reader's 4, which stays as the newest
      expect(warnings).toHaveLength(1);
    } finally {
      pruner.stop();
    }
  });

  it('starts no round while the one before is still running', async () => {
    let running = 0;
    let most = 0;
    let rounds = 0;
    const pruner = startOutboxPruner({
      pool: db.pool,
      schema: 'shop',
      order: ORDER,
      retentionMs: 7 * DAY,
      intervalMs: 10,
      pruneOwn: async () => {
        rounds++;
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running--;
        return 0;
      },
      log: { warn: () => {} },
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 350));
    } finally {
      pruner.stop();
    }
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(most).toBe(1);
  });
});

describe('a feed', () => {
  it('prunes its outbox while the app runs, with what its readers reported, and stops with the app', async () => {
    await events(6, () => 30);
    const app = await buildHttpApp();
    installAuth(app, { authenticate: async () => ({ kind: 'service', id: 'lifecycle', name: 'lifecycle', orgId: null, bindings: [] }) });
    // The service prunes its own relay's rows in the same round, with the same retention.
    await events(2, () => 30, { topic: 'shop.relay', unsequenced: true, relayedDaysAgo: 20 });
    const ownRounds: number[] = [];
    const pruneOwn = async (pool: typeof db.pool, retentionMs: number) => {
      ownRounds.push(retentionMs);
      return (await pool.query(`DELETE FROM shop.outbox WHERE topic = 'shop.relay' AND created_at < now() - $1 * interval '1 millisecond'`, [retentionMs])).rowCount ?? 0;
    };
    eventFeedRoutes(app, { service: 'shop', schema: 'shop', pool: db.pool, order: 'sequenced', excludeTopics: ['shop.relay'], retentionMs: 7 * DAY, pruneIntervalMs: 50, pruneOwn });
    await app.ready();
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/internal/events/shop?after=2&limit=10', headers: { authorization: 'Bearer x' } });
      expect(res.statusCode).toBe(200);
      const until = Date.now() + 5000;
      while ((await positions()).length > 4 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await positions()).toEqual([3, 4, 5, 6]);
      expect(ownRounds[0]).toBe(7 * DAY);
    } finally {
      await app.close();
    }
    await events(2, () => 30);
    await recordReader(db.pool, 'shop', 'lifecycle', 1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await positions()).length).toBe(6); // closed: nothing prunes any more
  });
});
