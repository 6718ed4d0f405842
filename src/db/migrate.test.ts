import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchema, migrationLockKey } from './migrate.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'rema-migrations-'));
  // TypeScript migrations with type-only imports, as the services write them. The sleep
  // keeps the first runner inside its transaction long enough for the others to collide.
  await writeFile(
    path.join(dir, '1000_create-widgets.ts'),
    `import type { MigrationBuilder } from 'node-pg-migrate';
     export async function up(pgm: MigrationBuilder): Promise<void> {
       pgm.sql('SELECT pg_sleep(0.3)');
       pgm.sql('CREATE TABLE widgets (id int PRIMARY KEY)');
     }`,
  );
  await writeFile(
    path.join(dir, '2000_add-widget-name.ts'),
    `export async function up(pgm: { sql(s: string): void }): Promise<void> {
       pgm.sql('ALTER TABLE widgets ADD COLUMN name text');
     }`,
  );
  // Not a migration: tests may sit beside migrations and must be ignored.
  await writeFile(path.join(dir, '3000_helper.test.ts'), 'throw new Error("loaded a test file as a migration");');
});
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('migrateSchema', () => {
  it('creates the schema and applies .ts migrations once, even when five processes start together', async () => {
    const runs = await Promise.all(Array.from({ length: 5 }, () => migrateSchema(db.url, { schema: 'widgets_svc', dir })));
    expect(runs.flat().map((m) => m.name)).toEqual(['1000_create-widgets', '2000_add-widget-name']);

    const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM widgets_svc.pgmigrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(['1000_create-widgets', '2000_add-widget-name']);
    await db.pool.query(`INSERT INTO widgets_svc.widgets (id, name) VALUES (1, 'w')`);
  });

  it('does nothing on a second run', async () => {
    expect(await migrateSchema(db.url, { schema: 'widgets_svc', dir })).toEqual([]);
  });

  it('keeps each schema’s bookkeeping in that schema', async () => {
    await migrateSchema(db.url, { schema: 'other_svc', dir });
    const { rows } = await db.pool.query<{ schema: string }>(
      `SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'pgmigrations' ORDER BY 1`,
    );
    expect(rows.map((r) => r.schema)).toEqual(['other_svc', 'widgets_svc']);
  });

  it('uses a different advisory lock per schema so services do not queue behind each other', () => {
    expect(migrationLockKey('config')).not.toBe(migrationLockKey('audit'));
    expect(Number.isSafeInteger(migrationLockKey('config'))).toBe(true);
  });

  it('rejects schema names that are not plain identifiers', async () => {
    await expect(migrateSchema(db.url, { schema: 'x"; DROP SCHEMA public; --', dir })).rejects.toThrow('invalid schema name');
  });
});
