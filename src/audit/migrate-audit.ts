import { fileURLToPath } from 'node:url';
import { migrateSchema, type AppliedMigration } from '../db/migrate.ts';

/** Folder holding the `audit` schema's migrations. */
export const AUDIT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Creates or upgrades the shared `audit` schema. Every service may call it at start-up;
 * concurrent calls serialise on the schema's migration lock.
 *
 * @example
 * await migrateAuditSchema(process.env.DATABASE_URL!);
 */
export function migrateAuditSchema(databaseUrl: string): Promise<AppliedMigration[]> {
  return migrateSchema(databaseUrl, { schema: 'audit', dir: AUDIT_MIGRATIONS_DIR });
}
