import { createHash } from 'node:crypto';
import path from 'node:path';
import { debuglog } from 'node:util';
import { runner } from 'node-pg-migrate';

const debug = debuglog('rema:migrate');

/** Options for {@link migrateSchema}. */
export interface MigrateSchemaOptions {
  /** PostgreSQL schema the service owns; created when missing. */
  schema: string;
  /** Folder of migration files (`<timestamp>_<name>.ts`), absolute or relative to cwd. */
  dir: string;
  /** Receives node-pg-migrate's progress lines. Defaults to `NODE_DEBUG=rema:migrate`. */
  log?: (line: string) => void;
}

/** A migration that {@link migrateSchema} applied. */
export interface AppliedMigration {
  name: string;
  path: string;
}

/**
 * Advisory lock key for one schema's migrations: 48 bits of sha256 so it stays an exact
 * JS integer and a valid `bigint`. node-pg-migrate's default key is one global constant;
 * a key per schema lets services migrate their own schemas in parallel while two
 * instances of one service still serialise.
 */
export function migrationLockKey(schema: string): number {
  return createHash('sha256').update(`rema:migrate:${schema}`).digest().readUIntBE(0, 6);
}

/**
 * Brings `schema` up to date with the migrations in `dir`, recording them in
 * `<schema>.pgmigrations`. Pending migrations run in one transaction, so a failure
 * leaves the schema as it was.
 *
 * Safe when several processes start at once: each run takes a session advisory lock
 * keyed by the schema *before* creating the schema or reading the migrations table, and
 * waits for it (node-pg-migrate's default is to fail instead). The second process then
 * finds nothing left to run.
 *
 * Migration files are TypeScript (`export async function up(pgm) { pgm.sql(...) }`), run as
 * compiled JavaScript from dist/ by `rema serve`; node-pg-migrate loads either (through jiti
 * for TypeScript, natively for JavaScript).
 *
 * @example
 * await migrateSchema(databaseUrl, { schema: 'audit', dir: 'src/audit/migrations' });
 */
export async function migrateSchema(databaseUrl: string, opts: MigrateSchemaOptions): Promise<AppliedMigration[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) {
    // node-pg-migrate splices the schema name into SQL; keep it a plain identifier.
    throw new Error(`invalid schema name: ${JSON.stringify(opts.schema)}`);
  }
  const log = opts.log ?? ((line: string) => debug('%s', line));
  const applied = await runner({
    databaseUrl: { connectionString: databaseUrl, application_name: `rema-migrate-${opts.schema}` },
    dir: path.resolve(opts.dir),
    schema: opts.schema,
    createSchema: true,
    migrationsSchema: opts.schema,
    migrationsTable: 'pgmigrations',
    direction: 'up',
    singleTransaction: true,
    checkOrder: true,
    lockValue: migrationLockKey(opts.schema),
    advisoryLockMode: 'wait',
    // Only files with a timestamp prefix are migrations; tests, helpers and (in dist/) source maps
    // beside them are not.
    ignorePattern: '(?:\\..*|.*\\.test\\.ts|.*\\.d\\.ts|.*\\.map)',
    logger: { debug: log, info: log, warn: log, error: log },
  });
  return applied.map((m) => ({ name: m.name, path: m.path }));
}
