import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { appendAuditEvents } from './append.ts';
import { alice, assetUpdate } from './audit-fixtures.ts';
import { migrateAuditSchema } from './migrate-audit.ts';
import { queryAuditEvents, streamAuditEvents, type AuditEventQuery } from './query.ts';
import type { AuditEvent, AuditEventInput } from './types.ts';

let db: TestDatabase;
const siteA = randomUUID();
const siteB = randomUUID();
const bob = { type: 'token' as const, id: 'token-bob', name: 'Bob CI', onBehalfOf: { type: 'user' as const, id: 'user-bob', name: 'Bob' } };
const changesetId = randomUUID();
const meterId = randomUUID();
let all: AuditEvent[] = [];
let windowStart = '';
let windowEnd = '';

beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  // 60 events over 20 transactions: several per call share one `at`, so ordering and
  // paging must break ties by id.
  for (let i = 0; i < 20; i++) {
    if (i === 8) windowStart = new Date().toISOString();
    const batch: AuditEventInput[] = [
      assetUpdate(siteA, { actor: i % 2 ? bob : alice, action: i % 4 === 0 ? 'create' : 'update' }),
      assetUpdate(siteB, { entityId: meterId, outcome: i % 5 === 0 ? 'refused' : 'applied' }),
      assetUpdate(siteA, { changesetId: i < 3 ? changesetId : null, entityType: i % 3 ? 'asset' : 'connection' }),
    ];
    all.push(...(await withTransaction(db.pool, (c) => appendAuditEvents(c, batch))));
    if (i === 13) windowEnd = new Date(Date.now() + 1).toISOString();
    await sleep(2); // distinct timestamps between transactions
  }
  all = all.sort((x, y) => (x.at === y.at ? (x.id < y.id ? 1 : -1) : x.at < y.at ? 1 : -1));
});
afterAll(() => db?.drop());

/** Pages through a query to the end, failing if a page repeats an event. */
async function allPages(query: AuditEventQuery): Promise<AuditEvent[]> {
  const seen: AuditEvent[] = [];
  let cursor = query.cursor;
  for (let page = 0; page < 100; page++) {
    const result = await queryAuditEvents(db.pool, { ...query, cursor });
    expect(result.items.length).toBeLessThanOrEqual(query.limit);
    seen.push(...result.items);
    if (!result.nextCursor) return seen;
    cursor = result.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('queryAuditEvents', () => {
  it('returns every event exactly once across pages, newest first', async () => {
    const paged = await allPages({ limit: 7 });
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(paged.map((e) => e.id)).size).toBe(60);
  });

  it('returns no cursor on the last page', async () => {
    const page = await queryAuditEvents(db.pool, { limit: 60 });
    expect(page.items).toHaveLength(60);
    expect(page.nextCursor).toBeNull();
  });

  // Cases are thunks: the seeded events they refer to exist only after beforeAll.
  type Case = () => [Omit<AuditEventQuery, 'limit'>, (e: AuditEvent) => boolean];
  it.each<[string, Case]>([
    ['site', () => [{ siteId: siteB }, (e) => e.siteId === siteB]],
    ['org', () => [{ orgId: '00000000-0000-4000-8000-000000000001' }, () => true]],
    ['entity', () => [{ entityId: meterId }, (e) => e.entityId === meterId]],
    ['entity type', () => [{ entityType: 'connection' }, (e) => e.entityType === 'connection']],
    ['actor', () => [{ actorId: 'token-bob' }, (e) => e.actor.id === 'token-bob']],
    ['action', () => [{ action: 'create' }, (e) => e.action === 'create']],
    ['outcome', () => [{ outcome: 'refused' }, (e) => e.outcome === 'refused']],
    ['change set', () => [{ changesetId }, (e) => e.changesetId === changesetId]],
    ['request id', () => [{ requestId: all[5].requestId ?? '' }, (e) => e.id === all[5].id]],
    ['time range', () => [{ from: windowStart, to: windowEnd }, (e) => e.at >= windowStart && e.at < windowEnd]],
    ['site and action', () => [{ siteId: siteA, action: 'update' }, (e) => e.siteId === siteA && e.action === 'update']],
  ])('filters by %s, paging included', async (_name, testCase) => {
    const [filter, predicate] = testCase();
    const want = all.filter(predicate).map((e) => e.id);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all.length + (filter.orgId ? 1 : 0));
    const got = await allPages({ ...filter, limit: 4 });
    expect(got.map((e) => e.id)).toEqual(want);
  });

  it('does not repeat or skip events while new ones are appended between pages', async () => {
    const first = await queryAuditEvents(db.pool, { siteId: siteA, limit: 10 });
    await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteA), assetUpdate(siteA)]));
    expect(first.nextCursor).not.toBeNull();
    const rest = await allPages({ siteId: siteA, limit: 10, cursor: first.nextCursor ?? undefined });
    const ids = [...first.items, ...rest].map((e) => e.id);
    expect(ids).toEqual(all.filter((e) => e.siteId === siteA).map((e) => e.id));
  });

  it.each(['garbage', Buffer.from('["not a date","x"]').toString('base64url'), Buffer.from('{}').toString('base64url')])(
    'rejects a malformed cursor (%s) with INVALID_CURSOR',
    async (cursor) => {
      await expect(queryAuditEvents(db.pool, { limit: 5, cursor })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    },
  );

  it('rejects a malformed uuid or date filter with INVALID_FILTER instead of a database error', async () => {
    await expect(queryAuditEvents(db.pool, { limit: 5, siteId: "x' OR 1=1 --" })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
    await expect(queryAuditEvents(db.pool, { limit: 5, from: 'yesterday' })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
  });

  it('treats filter values as data, never as SQL', async () => {
    const page = await queryAuditEvents(db.pool, { limit: 5, action: "update' OR '1'='1" });
    expect(page.items).toEqual([]);
  });
});

describe('streamAuditEvents', () => {
  it('yields every matching event once, in small batches', async () => {
    const streamed: AuditEvent[] = [];
    for await (const e of streamAuditEvents(db.pool, { siteId: siteB }, { batchSize: 3 })) streamed.push(e);
    expect(streamed.map((e) => e.id)).toEqual(all.filter((e) => e.siteId === siteB).map((e) => e.id));
  });
});
