import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../audit/migrate-audit.ts';
import { builtinCatalog } from '../core/catalog/catalog.ts';
import { createPool } from '../db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { isConnectionError } from '../db/tx.ts';
import { ApiError } from '../http/errors.ts';
import { migrateHttpSchema, type IdempotencyClaim } from '../http/idempotency.ts';
import { migrateConfigSchema } from './service.ts';
import { createWritePath } from './write-path.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateConfigSchema(db.url);
  await migrateHttpSchema(db.url);
  await db.pool.query(`
    CREATE FUNCTION test_slow_changeset() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(CASE WHEN NEW.comment = 'very slow' THEN 6.5 ELSE 0.2 END); RETURN NEW; END $$;
    CREATE TRIGGER test_slow BEFORE INSERT ON config.changesets FOR EACH ROW EXECUTE FUNCTION test_slow_changeset();
  `);
});
afterAll(() => db?.drop());

async function newSite(): Promise<string> {
  const siteId = randomUUID();
  await db.pool.query(`INSERT INTO config.sites (id, org_id, code, name, timezone, network, revision, version) VALUES ($1, $2, $3, 'Site', 'UTC', $4, 1, 1)`, [
    siteId,
    randomUUID(),
    `S-${siteId.slice(0, 8).toUpperCase()}`,
    JSON.stringify({ subnet: '10.20.0.0/24', router: '10.20.0.1' }),
  ]);
  return siteId;
}

/**
 * A pool whose connections are cut when the write path sends COMMIT: `after` the pair (last
 * statement + COMMIT) reached the server — 50 ms later, while the statement still runs (a
 * trigger makes writing a change set take 200 ms, 6.5 s with the comment "very slow") — or
 * `before` it leaves.
 */
function cuttingPool(when: 'before' | 'after'): pg.Pool {
  const pool = createPool(db.url, { max: 4 });
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
  // Only the transactions' checkouts (promise-style); pool.query passes a callback and is left alone.
  (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => (args.length > 0 ? connect(...args) : cutting());
  const cutting = async () => {
    const client = await connect();
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (args[0] === 'COMMIT') {
        const stream = client.connection.stream;
        if (when === 'before') stream.destroy();
        else setTimeout(() => stream.destroy(), 50);
      }
      return query(...args);
    };
    return client;
  };
  return pool;
}

const rename = (pool: pg.Pool, siteId: string, name: string, more: { comment?: string; idempotency?: IdempotencyClaim } = {}) =>
  createWritePath({ pool, catalog: builtinCatalog() }).execute(
    { siteId, operations: [{ op: 'updateSite', expectedVersion: 1, patch: { name } }], comment: more.comment },
    { actor: { type: 'user', id: 'u-1', name: 'tester' }, requestId: randomUUID(), idempotency: more.idempotency },
  );

const stored = async (siteId: string) =>
  (await db.pool.query<{ name: string; version: number; revision: number }>('SELECT name, version, revision FROM config.sites WHERE id = $1', [siteId])).rows[0];

describe('the write path when the connection is lost with COMMIT sent', () => {
  it('answers the change as applied when the database committed it', async () => {
    const siteId = await newSite();
    const pool = cuttingPool('after');
    try {
      const outcome = await rename(pool, siteId, 'Committed');
      expect([outcome.dryRun, outcome.siteRevision]).toEqual([false, 2]);
      expect(await stored(siteId)).toEqual({ name: 'Committed', version: 2, revision: 2 });
      const cs = await db.pool.query('SELECT 1 FROM config.changesets WHERE id = $1', [outcome.changesetId]);
      expect(cs.rowCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('answers the loss when nothing reached the database, and nothing is applied', async () => {
    const siteId = await newSite();
    const pool = cuttingPool('before');
    try {
      await expect(rename(pool, siteId, 'Lost')).rejects.toSatisfy(isConnectionError);
      expect(await stored(siteId)).toEqual({ name: 'Site', version: 1, revision: 1 });
    } finally {
      await pool.end();
    }
  });

  it('answers 503 naming the change set, and keeps the Idempotency-Key claimed, when it cannot tell within 5 s', async () => {
    const siteId = await newSite();
    const claim: IdempotencyClaim = { owner: 'tester', key: `k-${siteId}`, claimId: randomUUID() };
    await db.pool.query(`INSERT INTO http.idempotency_keys (owner, key, request_hash, state, claim_id) VALUES ($1, $2, 'h', 'pending', $3)`, [claim.owner, claim.key, claim.claimId]);
    const pool = cuttingPool('after');
    let answer: unknown;
    try {
      // The server process is still running the statement when the write path stops waiting for it.
      answer = await rename(pool, siteId, 'Undecided', { comment: 'very slow', idempotency: claim }).then(
        () => 'applied',
        (err: unknown) => err,
      );
    } finally {
      await pool.end();
    }
    expect(answer).toBeInstanceOf(ApiError);
    const { code, extra } = answer as ApiError;
    expect(code).toBe('SERVICE_UNAVAILABLE');
    expect(extra.changesetId).toEqual(expect.any(String));
    expect(claim.outcomeUnknown).toBe(true); // the HTTP layer keeps the claim on this 503
    // All of it had reached the server: it commits, and marks the claim with that change set.
    await expect.poll(async () => (await stored(siteId)).name, { timeout: 5000, interval: 100 }).toBe('Undecided');
    const marked = await db.pool.query('SELECT state, changeset_id FROM http.idempotency_keys WHERE key = $1', [claim.key]);
    expect(marked.rows[0]).toEqual({ state: 'committed', changeset_id: extra.changesetId });
  }, 20_000);
});
