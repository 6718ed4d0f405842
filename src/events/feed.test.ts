import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { isConnectionError } from '../db/tx.ts';
import { readOutbox, sequenceOutbox } from './feed.ts';
import { enqueueOutbox } from './outbox.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL, payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, feed_seq bigint UNIQUE);
    CREATE INDEX ON shop.outbox (id) WHERE feed_seq IS NULL AND topic <> 'shop.internal';`);
});
afterAll(() => db?.drop());

const ORDER = { order: 'sequenced' as const, excludeTopics: ['shop.internal'] };
const read = (after: number) => readOutbox(db.pool, 'shop', { after, limit: 100 }, ORDER);
/** The position after every event served so far. */
async function end(): Promise<number> {
  let cursor = 0;
  for (let page = await read(0); page.items.length > 0; page = await read(cursor)) cursor = page.nextAfter;
  return cursor;
}
const write = async (client: pg.PoolClient, topic: string) => enqueueOutbox(client, 'shop', [{ topic, key: topic, payload: {} }]);

describe('a sequenced event feed', () => {
  it('never skips an event whose transaction took a lower id but committed after a later one was read', async () => {
    let cursor = await end();
    const slow = await db.pool.connect();
    const fast = await db.pool.connect();
    try {
      await slow.query('BEGIN');
      await write(slow, 'slow'); // the lower id, committed last
      await fast.query('BEGIN');
      await write(fast, 'fast'); // the higher id, committed first — and read at once
      await fast.query('COMMIT');
      const first = await read(cursor);
      expect(first.items.map((e) => e.topic)).toEqual(['fast']);
      cursor = first.nextAfter;
      await slow.query('COMMIT');
      const second = await read(cursor);
      expect(second.items.map((e) => e.topic)).toEqual(['slow']);
      expect(second.items[0].id).toBeGreaterThan(first.items[0].id);
      expect((await read(second.nextAfter)).items).toEqual([]);
    } finally {
      slow.release();
      fast.release();
    }
  });

  it('lets writers commit in parallel: no writer waits for another', async () => {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('BEGIN');
      await write(a, 'a');
      await b.query('BEGIN');
      const bDone = (async () => {
        await write(b, 'b');
        await b.query('COMMIT');
        return 'b committed';
      })();
      expect(await Promise.race([bDone, sleep(1000).then(() => 'b waited')])).toBe('b committed');
      await a.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
  });

  it('serves every event once, in the order they became visible, with one sequencer at a time', async () => {
    const start = await end();
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 25; i++) {
          const c = await db.pool.connect();
          try {
            await c.query('BEGIN');
            await write(c, `w${w}-${i}`);
            if (i % 3 === 0) await sleep(1);
            await c.query('COMMIT');
          } finally {
            c.release();
          }
        }
      })(),
    );
    // Readers race the writers (and each other) all along.
    const seen: string[] = [];
    let cursor = start;
    let writing = true;
    const all = Promise.all(writers).then(() => (writing = false));
    while (writing) {
      const [page] = await Promise.all([read(cursor), sequenceOutbox(db.pool, 'shop', ORDER)]);
      seen.push(...page.items.map((e) => e.topic));
      cursor = page.nextAfter;
    }
    await all;
    for (let page = await read(cursor); page.items.length > 0; page = await read(cursor)) {
      seen.push(...page.items.map((e) => e.topic));
      cursor = page.nextAfter;
    }
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
  });

  it('leaves out the topics it excludes', async () => {
    const start = await end();
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await write(c, 'shop.internal');
      await write(c, 'shop.thing');
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    expect((await read(start)).items.map((e) => e.topic)).toEqual(['shop.thing']);
  });

  it('survives its connection being terminated between statements: the call fails, the process lives on', async () => {
    // A pool whose connections are terminated by the server right after their first statement,
    // while the caller holds them between statements: the moment an unwatched connection's
    // 'error' event would end the process.
    const dropping = Object.create(db.pool) as pg.Pool;
    dropping.connect = (async () => {
      const client = await db.pool.connect();
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      let first = true;
      (client as { query: unknown }).query = async (...args: unknown[]) => {
        if (!first) return query(...args);
        first = false;
        const result = await query(...args);
        const { rows } = (await query('SELECT pg_backend_pid() AS pid')) as { rows: { pid: number }[] };
        await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        await sleep(200); // the server's FATAL and the closed socket arrive while no statement runs
        return result;
      };
      return client;
    }) as pg.Pool['connect'];
    const start = await end();
    const c = await db.pool.connect();
    try {
      await write(c, 'after-termination');
    } finally {
      c.release();
    }
    const err = await sequenceOutbox(dropping, 'shop', { excludeTopics: ['shop.internal'] }).then(() => null, (e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
    // Nothing was lost: the next round, on a healthy connection, serves the event.
    expect((await read(start)).items.map((e) => e.topic)).toEqual(['after-termination']);
  });
});

describe('a feed page', () => {
  it('is the JSON of each event as stored: the payload as written, createdAt as toISOString writes it', async () => {
    const start = await end();
    const payload = { name: 'Zähler «Nord» 🌡', nested: { list: [1, 2.5, -0.125, null, true], empty: {} }, big: 12345678901234, text: 'quote " backslash \\ newline \n tab \t' };
    await db.pool.query(`INSERT INTO shop.outbox (topic, key, payload, created_at) VALUES ('page', 'k1', $1, '2026-11-28 12:00:00.123456+00'), ('page', 'k2', '{}', '1999-12-31 23:59:59.999999+00')`, [JSON.stringify(payload)]);
    const page = await readOutbox(db.pool, 'shop', { after: start, limit: 100 }, ORDER);
    expect(page.items).toEqual([
      { id: start + 1, topic: 'page', key: 'k1', payload, createdAt: '2026-11-28T12:00:00.123Z' },
      { id: start + 2, topic: 'page', key: 'k2', payload: {}, createdAt: '1999-12-31T23:59:59.999Z' },
    ]);
    expect(page.nextAfter).toBe(start + 2);
    // createdAt as the driver's Date would give it.
    const { rows } = await db.pool.query<{ created_at: Date }>(`SELECT created_at FROM shop.outbox WHERE key = 'k1'`);
    expect(page.items[0].createdAt).toBe(rows[0].created_at.toISOString());
    // An empty page keeps the position it was asked from.
    expect(await readOutbox(db.pool, 'shop', { after: page.nextAfter, limit: 100 }, ORDER)).toEqual({ items: [], nextAfter: page.nextAfter });
  });
});

describe('a filtered page of a sequenced feed', () => {
  it('serves what the filter lets through, and answers the highest position sequenced when it is not full', async () => {
    const start = await end();
    const change = (topic: string, before: string, after: string) => ({ topic, key: topic, payload: { before: { status: before }, after: { status: after } } });
    const c = await db.pool.connect();
    try {
      await enqueueOutbox(c, 'shop', [change('shop.thing.updated', 'a', 'a'), change('shop.thing.updated', 'a', 'b'), change('shop.thing.created', 'a', 'b'), change('shop.thing.updated', 'b', 'b')]);
    } finally {
      c.release();
    }
    const filter = { topics: ['shop.thing.updated'], changed: 'status' };
    const page = await readOutbox(db.pool, 'shop', { after: start, limit: 100, ...filter }, ORDER);
    expect(page.items.map((e) => [e.id - start, e.payload])).toEqual([[2, { before: { status: 'a' }, after: { status: 'b' } }]]);
    expect(page.nextAfter).toBe(start + 4);
    expect(await readOutbox(db.pool, 'shop', { after: page.nextAfter, limit: 100, ...filter }, ORDER)).toEqual({ items: [], nextAfter: start + 4 });
    await expect(readOutbox(db.pool, 'shop', { after: 0, limit: 1, changed: 'a b' }, ORDER)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
