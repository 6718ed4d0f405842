import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './test-database.ts';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('creates a fresh database per call and drops it even with sessions still open', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    const name = new URL(a.url).pathname.slice(1);
    expect(name).toMatch(/^rema_t_\d+_[0-9a-f]{8}$/);
    expect(a.url).not.toBe(b.url);
    expect((await a.pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db).toBe(name);

    const straggler = new pg.Client(a.url);
    await straggler.connect();
    straggler.on('error', () => undefined); // it is about to be kicked out
    await a.drop();
    await b.drop();
    expect(await databaseExists(name)).toBe(false);
    await straggler.end().catch(() => undefined);
  });
});
