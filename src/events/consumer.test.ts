import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../auth/install-auth.ts';
import type { Principal } from '../auth/principal.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { buildHttpApp, type HttpApp } from '../http/app.ts';
import { httpFeedSource, memoryCursorStore, pgCursorStore, startConsumer, type FeedSource } from './consumer.ts';
import { eventFeedRoutes, readOutbox, type FeedPage } from './feed.ts';

let db: TestDatabase;
let app: HttpApp;
let baseUrl: string;
const service: Principal = { kind: 'service', id: 'consumer-test', name: 'consumer-test', orgId: null, bindings: [] };

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    CREATE SCHEMA producer;
    CREATE TABLE producer.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL, payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
    CREATE TABLE producer.feed_readers (reader text PRIMARY KEY, position bigint NOT NULL, seen_at timestamptz NOT NULL DEFAULT now());
    CREATE SCHEMA consumer;
    CREATE TABLE consumer.seen (event_id bigint PRIMARY KEY, topic text NOT NULL);`);
  app = await buildHttpApp();
  installAuth(app, { authenticate: async (bearer) => (bearer === 'service-jwt' ? service : bearer === 'user-jwt' ? { ...service, kind: 'user', orgId: 'o' } : undefined) });
  eventFeedRoutes(app, { service: 'producer', schema: 'producer', pool: db.pool });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function produce(n: number, topic = 'producer.thing.happened'): Promise<void> {
  await db.pool.query(`INSERT INTO producer.outbox (topic, key, payload) SELECT $1, 'k' || g, jsonb_build_object('n', g) FROM generate_series(1, $2) g`, [topic, n]);
}

async function waitUntil(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await probe()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

const direct: FeedSource = (q) => readOutbox(db.pool, 'producer', q);

describe('the event feed', () => {
  it('serves a service its outbox in id order, after a position, and nobody else', async () => {
    await produce(3, 'feed.check');
    const source = httpFeedSource({ baseUrl, service: 'producer', token: () => 'service-jwt' });
    const page = await source({ after: 0, limit: 2 });
    expect(page.items.map((e) => e.topic)).toEqual(['feed.check', 'feed.check']);
    expect(page.nextAfter).toBe(page.items[1].id);
    const rest = await source({ after: page.nextAfter, limit: 100 });
    expect(rest.items[0]).toMatchObject({ id: page.nextAfter + 1, key: 'k3', payload: { n: 3 } });
    // The reader is recorded with what it has read (the `after` it asked from), for pruning.
    await waitUntil(async () => (await db.pool.query(`SELECT position FROM producer.feed_readers WHERE reader = 'consumer-test'`)).rows[0]?.position !== undefined);
    expect((await db.pool.query(`SELECT reader, position::int FROM producer.feed_readers`)).rows).toEqual([{ reader: 'consumer-test', position: 0 }]);
    const denied = await fetch(`${baseUrl}/v1/internal/events/producer`, { headers: { authorization: 'Bearer user-jwt' } });
    expect(denied.status).toBe(403);
    await expect(httpFeedSource({ baseUrl, service: 'producer', token: () => 'nobody' })({ after: 0, limit: 1 })).rejects.toThrow(/401/);
  });
});

describe('the polling consumer', () => {
  it('hands every event once, in order, and keeps its position in its own schema across restarts', async () => {
    const start = (await db.pool.query(`SELECT coalesce(max(id), 0)::bigint AS id FROM producer.outbox`)).rows[0].id as number;
    await pgCursorStore(db.pool, { schema: 'consumer', consumer: 'orderly' }).load(); // creates its table and row
    await db.pool.query(`UPDATE consumer.event_cursors SET position = $1 WHERE consumer = 'orderly'`, [start]);
    await produce(5, 'orderly');
    const seen: number[] = [];
    const run = () =>
      startConsumer({
        source: direct,
        cursor: pgCursorStore(db.pool, { schema: 'consumer', consumer: 'orderly' }),
        handler: async (e) => void seen.push((e.payload as { n: number }).n),
        batchSize: 2,
        pollIntervalMs: 60_000,
      });
    const first = run();
    expect(await first.pollOnce()).toBe(5);
    await first.stop();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await produce(2, 'orderly');
    const second = run();
    expect(await second.pollOnce()).toBe(2);
    await second.stop();
    expect(seen).toEqual([1, 2, 3, 4, 5, 1, 2]);
    const { rows } = await db.pool.query(`SELECT position FROM consumer.event_cursors WHERE consumer = 'orderly'`);
    expect(rows[0].position).toBe(start + 7);
  });

  it('retries a failed event on the next poll and never passes it', async () => {
    const cursor = memoryCursorStore((await direct({ after: 0, limit: 500 })).nextAfter);
    await produce(3, 'flaky');
    const handled: number[] = [];
    let failOnce = true;
    const errors: unknown[] = [];
    const consumer = startConsumer({
      source: direct,
      cursor,
      pollIntervalMs: 60_000,
      onError: (err) => errors.push(err),
      handler: async (e) => {
        const n = (e.payload as { n: number }).n;
        if (n === 2 && failOnce) {
          failOnce = false;
          throw new Error('broker hiccup');
        }
        handled.push(n);
      },
    });
    await expect(consumer.pollOnce()).rejects.toThrow('broker hiccup');
    expect(handled).toEqual([1]);
    expect(await consumer.pollOnce()).toBe(2);
    expect(handled).toEqual([1, 2, 3]);
    await consumer.stop();
  });

  it('commits a page with its effects or not at all, then isolates the event that fails', async () => {
    const store = () => pgCursorStore(db.pool, { schema: 'consumer', consumer: 'isolating' });
    await store().load();
    const { rows: top } = await db.pool.query(`SELECT max(id)::bigint AS id FROM producer.outbox`);
    const start = Number(top[0].id);
    await db.pool.query(`UPDATE consumer.event_cursors SET position = $1 WHERE consumer = 'isolating'`, [start]);
    await produce(5, 'isolating');
    let failing = true;
    const errors: unknown[] = [];
    const consumer = startConsumer({
      source: direct,
      cursor: store(),
      batchSize: 10,
      pollIntervalMs: 60_000,
      onError: (err) => errors.push(err),
      handler: async (e, tx) => {
        await tx!.query(`INSERT INTO consumer.seen (event_id, topic) VALUES ($1, $2)`, [e.id, e.topic]);
        if ((e.payload as { n: number }).n === 3 && failing) throw new Error('poison');
      },
    });
    const seen = async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM consumer.seen WHERE topic = 'isolating'`)).rows[0].n;
    const position = async () => Number((await db.pool.query(`SELECT position FROM consumer.event_cursors WHERE consumer = 'isolating'`)).rows[0].position);

    // The page of five fails as a whole: nothing of it is kept, the position stays.
    await expect(consumer.pollOnce()).rejects.toThrow('poison');
    expect(await seen()).toBe(0);
    expect(await position()).toBe(start);
    // Next poll, one event at a time: the two before the failing one are kept, exactly once.
    await expect(consumer.pollOnce()).rejects.toThrow('poison');
    expect(await seen()).toBe(2);
    expect(await position()).toBe(start + 2);
    failing = false;
    expect(await consumer.pollOnce()).toBe(3);
    expect(await seen()).toBe(5);
    expect(await position()).toBe(start + 5);
    await consumer.stop();
  });

  it('lets two instances of one consumer share the work without handling an event twice', async () => {
    const store = () => pgCursorStore(db.pool, { schema: 'consumer', consumer: 'shared' });
    await store().load();
    await db.pool.query(`UPDATE consumer.event_cursors SET position = (SELECT max(id) FROM producer.outbox) WHERE consumer = 'shared'`);
    await produce(20, 'shared');
    const make = () =>
      startConsumer({
        source: direct,
        cursor: store(),
        batchSize: 5,
        pollIntervalMs: 60_000,
        // Exactly once for database effects: the insert commits with the cursor move.
        handler: async (e, tx) => void (await tx!.query(`INSERT INTO consumer.seen (event_id, topic) VALUES ($1, $2)`, [e.id, e.topic])),
      });
    const a = make();
    const b = make();
    const [na, nb] = await Promise.all([a.pollOnce(), b.pollOnce()]);
    await Promise.all([a.stop(), b.stop()]);
    expect(na + nb).toBe(20);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM consumer.seen WHERE topic = 'shared'`);
    expect(rows[0].n).toBe(20);
  });

  it('starts from a point in time when told to, instead of the beginning', async () => {
    await produce(1, 'old');
    await new Promise((r) => setTimeout(r, 50));
    const since = new Date();
    await produce(1, 'new');
    const topics: string[] = [];
    const consumer = startConsumer({ source: direct, cursor: memoryCursorStore(), since, pollIntervalMs: 60_000, handler: async (e) => void topics.push(e.topic) });
    await consumer.pollOnce();
    await consumer.stop();
    expect(topics).toEqual(['new']);
  });
});

describe('a filtered feed', () => {
  const produceChange = (topic: string, before: string | null, after: string | null) =>
    db.pool.query(`INSERT INTO producer.outbox (topic, key, payload) VALUES ($1, 'x', $2)`, [
      topic,
      JSON.stringify({ before: before === null ? null : { status: before, name: 'n' }, after: after === null ? null : { status: after, name: 'm' } }),
    ]);

  it('serves only the topics asked for and, of updates, those changing the field; a page not full says how far it looked', async () => {
    const top = async () => Number((await db.pool.query(`SELECT max(id) AS id FROM producer.outbox`)).rows[0].id);
    const start = await top();
    await produceChange('producer.thing.updated', 'active', 'active'); // left out: status unchanged
    await produceChange('producer.thing.updated', 'active', 'retired');
    await produceChange('producer.thing.created', null, 'active'); // left out: another topic
    await produceChange('producer.thing.deleted', 'retired', null);
    await produceChange('producer.thing.updated', 'planned', 'planned'); // left out, and the last
    const end = await top();
    const url = (after: number, limit: number) =>
      `${baseUrl}/v1/internal/events/producer?after=${after}&limit=${limit}&topics=producer.thing.updated,producer.thing.deleted&changed=status`;
    const read = async (after: number, limit = 100) => (await (await fetch(url(after, limit), { headers: { authorization: 'Bearer service-jwt' } })).json()) as FeedPage;

    const page = await read(start);
    expect(page.items.map((e) => [e.id - start, e.topic])).toEqual([
      [2, 'producer.thing.updated'],
      [4, 'producer.thing.deleted'],
    ]);
    expect(page.nextAfter).toBe(end);
    expect(await read(end)).toEqual({ items: [], nextAfter: end });
    // A full page ends at its last event: what comes after it is still to be looked at.
    const full = await read(start, 1);
    expect(full.items.map((e) => e.id - start)).toEqual([2]);
    expect(full.nextAfter).toBe(start + 2);

    for (const query of ['changed=a.b', 'topics=Upper.Case', 'topics=a,,b']) {
      const bad = await fetch(`${baseUrl}/v1/internal/events/producer?${query}`, { headers: { authorization: 'Bearer service-jwt' } });
      expect(bad.status, query).toBe(422);
    }
  });

  it("moves a consumer's position past what the filter left out, so it does not read it again", async () => {
    const start = Number((await db.pool.query(`SELECT coalesce(max(id), 0) AS id FROM producer.outbox`)).rows[0].id);
    await pgCursorStore(db.pool, { schema: 'consumer', consumer: 'filtered' }).load();
    await db.pool.query(`UPDATE consumer.event_cursors SET position = $1 WHERE consumer = 'filtered'`, [start]);
    await produceChange('producer.thing.updated', 'active', 'retired');
    await produce(3, 'producer.thing.updated'); // payloads without before/after: left out
    const end = Number((await db.pool.query(`SELECT max(id) AS id FROM producer.outbox`)).rows[0].id);
    const seen: number[] = [];
    const consumer = startConsumer({
      source: (q) => readOutbox(db.pool, 'producer', { ...q, topics: ['producer.thing.updated'], changed: 'status' }),
      cursor: pgCursorStore(db.pool, { schema: 'consumer', consumer: 'filtered' }),
      handler: async (e) => void seen.push(e.id - start),
      batchSize: 10,
      pollIntervalMs: 60_000,
    });
    try {
      expect(await consumer.pollOnce()).toBe(1);
      expect(seen).toEqual([1]);
      const position = async () => Number((await db.pool.query(`SELECT position FROM consumer.event_cursors WHERE consumer = 'filtered'`)).rows[0].position);
      expect(await position()).toBe(end);
      // Nothing new: the next poll handles nothing and leaves the position where it is.
      expect(await consumer.pollOnce()).toBe(0);
      expect(await position()).toBe(end);
    } finally {
      await consumer.stop();
    }
  });
});
