import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPool } from './pool.ts';
import { sqlState } from './tx.ts';

/** A throw-away database for one test file. */
export interface TestDatabase {
  /** Connection URL of the new database; hand it to migrations or a second pool. */
  url: string;
  /** A rema pool (bigint as number) on the new database. */
  pool: pg.Pool;
  /** Closes the pool and drops the database, kicking out any leftover sessions. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(), application_name: 'rema-test' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty, uniquely named database (`rema_t_<pid>_<random>`) on the server of
 * `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). Test files
 * run in parallel, so each gets its own database instead of sharing tables. No migrations
 * run here; the caller applies the ones it needs.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); await migrateAuditSchema(db.url); });
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `rema_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        return;
      } catch (err) {
        // 55006: template1 briefly in use by another session creating a database.
        if (sqlState(err) !== '55006' || attempt >= 10) throw err;
        await sleep(50 + Math.random() * 100);
      }
    }
  });
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  const pool = createPool(url.toString(), {
    max: 20,
    // pool.end() resolves before its sockets have closed, so DROP … WITH (FORCE) may kill
    // sessions that were already on their way out; that is expected, not worth a warning.
    onIdleError: (err) => {
      if (!dropped) console.warn(`rema test database: idle connection failed: ${err.message}`);
    },
  });
  return {
    url: url.toString(),
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}
