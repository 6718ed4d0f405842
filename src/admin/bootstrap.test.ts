import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../audit/migrate-audit.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { bootstrapAdmin, PLATFORM_ORG_ID } from './bootstrap.ts';
import { migrateAdminSchema } from './service.ts';
import { verifyPassword } from './passwords.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateAdminSchema(db.url);
});
afterAll(() => db?.drop());

describe('bootstrapAdmin', () => {
  it('makes one platform organisation and one admin, even when several instances start at once, and returns the password once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => bootstrapAdmin(db.pool, { email: 'Root@Example.test' })));
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ orgId: PLATFORM_ORG_ID, email: 'root@example.test', password: expect.stringMatching(/^[A-Za-z0-9_-]{20}$/) });
    for (const r of results.filter((x) => !x.created)) expect(r).toEqual({ created: false, orgId: PLATFORM_ORG_ID, userId: created[0].userId, email: 'root@example.test' });

    const { rows } = await db.pool.query(`SELECT u.password_hash, o.platform FROM admin.users u JOIN admin.orgs o ON o.id = u.org_id`);
    expect(rows).toHaveLength(1);
    expect(rows[0].platform).toBe(true);
    expect(await verifyPassword(rows[0].password_hash, created[0].password!)).toBe(true);

    const later = await bootstrapAdmin(db.pool);
    expect(later).not.toHaveProperty('password');
    const audit = await db.pool.query(`SELECT entity_type, action, actor->>'type' AS actor FROM audit.events WHERE scope = $1 ORDER BY seq`, [`org:${PLATFORM_ORG_ID}`]);
    expect(audit.rows).toEqual([
      { entity_type: 'org', action: 'create', actor: 'system' },
      { entity_type: 'user', action: 'create', actor: 'system' },
    ]);
  });
});
