import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { appendAuditEvents } from './append.ts';
import { assetUpdate } from './audit-fixtures.ts';
import { migrateAuditSchema } from './migrate-audit.ts';
import type { AuditEvent } from './types.ts';
import { verifyAuditChains } from './verify.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
});
afterAll(() => db?.drop());

/** A fresh chain of `n` events in its own scope. */
async function chain(n: number): Promise<AuditEvent[]> {
  const siteId = randomUUID();
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push(...(await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteId, { siteRevision: i + 1 })]))));
  }
  return events;
}

/** What an attacker with superuser rights would do: switch the guard off, edit, switch it on. */
async function tamper(sql: string, params: unknown[]): Promise<void> {
  await withTransaction(db.pool, async (c) => {
    await c.query('ALTER TABLE audit.events DISABLE TRIGGER events_refuse_update_delete');
    await c.query(sql, params);
    await c.query('ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_refuse_update_delete');
  });
}

describe('verifyAuditChains', () => {
  it('accepts untouched chains and counts scopes and events', async () => {
    const a = await chain(3);
    await chain(2);
    const all = await verifyAuditChains(db.pool);
    expect(all.ok).toBe(true);
    expect(all.problems).toEqual([]);
    expect(all.scopes).toBeGreaterThanOrEqual(2);
    expect(await verifyAuditChains(db.pool, { scope: a[0].scope })).toEqual({ ok: true, scopes: 1, events: 3, problems: [] });
  });

  it('walks long chains in batches', async () => {
    const events = await chain(25);
    const result = await verifyAuditChains(db.pool, { scope: events[0].scope, batchSize: 4 });
    expect(result).toEqual({ ok: true, scopes: 1, events: 25, problems: [] });
  });

  it('reports an edited `after` as a hash mismatch at that seq', async () => {
    const events = await chain(5);
    await tamper(`UPDATE audit.events SET after = jsonb_set(after, '{config,unitId}', '99') WHERE id = $1`, [events[2].id]);
    const result = await verifyAuditChains(db.pool, { scope: events[0].scope });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.objectContaining({ scope: events[0].scope, seq: 3, eventId: events[2].id, problem: 'hash-mismatch' }),
    ]);
  });

  it('reports a recomputed-looking hash as a broken link at the next event', async () => {
    const events = await chain(4);
    await tamper(`UPDATE audit.events SET hash = repeat('0', 64) WHERE id = $1`, [events[1].id]);
    const { problems } = await verifyAuditChains(db.pool, { scope: events[0].scope });
    expect(problems.map((p) => [p.seq, p.problem])).toEqual([
      [2, 'hash-mismatch'],
      [3, 'broken-link'],
    ]);
  });

  it('reports a deleted event in the middle as a gap', async () => {
    const events = await chain(4);
    await tamper('DELETE FROM audit.events WHERE id = $1', [events[1].id]);
    const { problems } = await verifyAuditChains(db.pool, { scope: events[0].scope });
    expect(problems.map((p) => [p.seq, p.problem, p.eventId])).toEqual([[3, 'gap', events[2].id]]);
  });

  it('reports a deleted last event as a head mismatch', async () => {
    const events = await chain(3);
    await tamper('DELETE FROM audit.events WHERE id = $1', [events[2].id]);
    const { problems } = await verifyAuditChains(db.pool, { scope: events[0].scope });
    expect(problems.map((p) => [p.seq, p.problem])).toEqual([[3, 'head-mismatch']]);
  });

  it('reports an event inserted past the head, which no append made (it moves the head with it)', async () => {
    const events = await chain(3);
    const last = events[2];
    // INSERT is not refused by the append-only guard: a row with the next seq, linked to the last hash.
    const forged = randomUUID();
    await db.pool.query(
      `INSERT INTO audit.events (id, scope, seq, at, actor, service, entity_type, entity_id, action, outcome, prev_hash, hash)
       VALUES ($1, $2, 4, now()::timestamptz(3), '{"type":"user","id":"mallory"}', 'config', 'asset', $3, 'delete', 'applied', $4, 'deadbeef')`,
      [forged, last.scope, last.entityId, last.hash],
    );
    const { problems } = await verifyAuditChains(db.pool, { scope: last.scope });
    expect(problems).toEqual([expect.objectContaining({ seq: 4, eventId: forged, problem: 'head-mismatch' })]);
  });

  it('reports a wiped chain whose head remains', async () => {
    const events = await chain(2);
    await tamper('DELETE FROM audit.events WHERE scope = $1', [events[0].scope]);
    const { problems } = await verifyAuditChains(db.pool, { scope: events[0].scope });
    expect(problems).toEqual([expect.objectContaining({ seq: 2, eventId: '', problem: 'head-mismatch' })]);
  });

  it('finds the tampered scope when verifying everything', async () => {
    const events = await chain(2);
    await tamper(`UPDATE audit.events SET actor = jsonb_set(actor, '{name}', '"Mallory"') WHERE id = $1`, [events[0].id]);
    const { problems } = await verifyAuditChains(db.pool);
    expect(problems).toContainEqual(expect.objectContaining({ scope: events[0].scope, seq: 1, problem: 'hash-mismatch' }));
  });

  it('gives no false alarm while events are appended during the run', async () => {
    const events = await chain(30);
    const scope = events[0].scope;
    const siteId = events[0].siteId as string;
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteId)]));
    })();
    const results = await Promise.all([1, 2, 3].map(() => verifyAuditChains(db.pool, { scope, batchSize: 5 })));
    await writer;
    for (const r of results) expect(r.problems).toEqual([]);
  });
});
