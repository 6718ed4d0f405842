import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { defaultPoolSize, poolShares, poolSizeFromEnv } from './pool.ts';

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

describe('pool sizes', () => {
  it('defaults to four connections a core, from 10 to 20', () => {
    expect([1, 2, 3, 4, 5, 8, 64].map((cores) => defaultPoolSize(cores))).toEqual([10, 10, 12, 16, 20, 20, 20]);
  });

  it('takes PG_POOL_SIZE when it is a positive whole number, else the default', () => {
    const before = process.env.PG_POOL_SIZE;
    try {
      process.env.PG_POOL_SIZE = '12';
      expect(poolSizeFromEnv()).toBe(12);
      for (const bad of ['0', '-3', 'many', '']) {
        process.env.PG_POOL_SIZE = bad;
        expect(poolSizeFromEnv()).toBe(defaultPoolSize());
      }
      delete process.env.PG_POOL_SIZE;
      expect(poolSizeFromEnv()).toBe(defaultPoolSize());
    } finally {
      if (before === undefined) delete process.env.PG_POOL_SIZE;
      else process.env.PG_POOL_SIZE = before;
    }
  });

  it('gives the lifecycle service half of an instance running it with the configuration service up to 5, a quarter beyond, at least 3', () => {
    const split = (budget: number) => poolShares(budget, true);
    expect([4, 6, 8, 10, 12, 20, 40].map(split)).toEqual([
      { main: 2, lifecycle: 3 }, // the least each pool works with: more than the budget
      { main: 3, lifecycle: 3 },
      { main: 4, lifecycle: 4 },
      { main: 5, lifecycle: 5 },
      { main: 7, lifecycle: 5 },
      { main: 15, lifecycle: 5 },
      { main: 30, lifecycle: 10 },
    ]);
    expect(poolShares(8, false)).toEqual({ main: 8, lifecycle: 0 });
  });
});
