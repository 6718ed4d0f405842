import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('createPool', () => {
  it('returns bigint columns as JS numbers', async () => {
    const { rows } = await db.pool.query<{ n: unknown; big: unknown }>('SELECT count(*) AS n, 9007199254740991::bigint AS big');
    expect(rows[0]).toEqual({ n: 1, big: Number.MAX_SAFE_INTEGER });
  });

  it('leaves other types to the default parsers', async () => {
    const { rows } = await db.pool.query<{ i: unknown; d: unknown }>(`SELECT 7::int AS i, 1.5::numeric AS d`);
    expect(rows[0]).toEqual({ i: 7, d: '1.5' });
  });

  it('identifies its sessions as rema and bounds idle transactions', async () => {
    const { rows } = await db.pool.query<{ app: string; idle: string }>(
      `SELECT current_setting('application_name') AS app, current_setting('idle_in_transaction_session_timeout') AS idle`,
    );
    expect(rows[0]).toEqual({ app: 'rema', idle: '1min' });
  });
});
