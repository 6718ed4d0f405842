import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { appendAuditEvents } from './append.ts';
import { assetUpdate } from './audit-fixtures.ts';
import { migrateAuditSchema } from './migrate-audit.ts';

let db: TestDatabase;
let siteId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  siteId = randomUUID();
  await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteId), assetUpdate(siteId)]));
});
afterAll(() => db?.drop());

async function eventCount(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events');
  return rows[0].n;
}

describe('audit.events is append-only in the database itself', () => {
  it('refuses UPDATE', async () => {
    await expect(db.pool.query(`UPDATE audit.events SET comment = 'rewritten'`)).rejects.toThrow(/append-only: UPDATE refused/);
    const { rows } = await db.pool.query(`SELECT 1 FROM audit.events WHERE comment = 'rewritten'`);
    expect(rows).toHaveLength(0);
  });

  it('refuses DELETE', async () => {
    await expect(db.pool.query('DELETE FROM audit.events')).rejects.toThrow(/append-only: DELETE refused/);
    expect(await eventCount()).toBe(2);
  });

  it('refuses TRUNCATE', async () => {
    await expect(db.pool.query('TRUNCATE audit.events')).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect(await eventCount()).toBe(2);
  });

  it('still refuses with session_replication_role = replica, which skips ordinary triggers', async () => {
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query(`SET LOCAL session_replication_role = replica`);
        await c.query('DELETE FROM audit.events');
      }),
    ).rejects.toThrow(/append-only/);
    expect(await eventCount()).toBe(2);
  });

  it('reports the refusal as SQLSTATE 42501 insufficient_privilege', async () => {
    await expect(db.pool.query('DELETE FROM audit.events')).rejects.toMatchObject({ code: '42501' });
  });
});
