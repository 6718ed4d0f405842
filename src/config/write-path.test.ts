import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../audit/migrate-audit.ts';
import { verifyAuditChains } from '../audit/verify.ts';
import { builtinCatalog } from '../core/catalog/catalog.ts';
import { defaultConfig } from '../core/catalog/default-config.ts';
import { createPool } from '../db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { isConnectionError } from '../db/tx.ts';
import { ApiError } from '../http/errors.ts';
import { migrateHttpSchema, type IdempotencyClaim } from '../http/idempotency.ts';
import { migrateConfigSchema } from './service.ts';
import { SiteGraphCache } from './site-store.ts';
import { createWritePath } from './write-path.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateConfigSchema(db.url);
  await migrateHttpSchema(db.url);
  await db.pool.query(`
    CREATE FUNCTION test_slow_changeset() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(CASE NEW.comment WHEN 'very slow' THEN 6.5 WHEN 'slow' THEN 2 ELSE 0.2 END); RETURN NEW; END $$;
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
 * A pool of its own whose transactions' and lone statements' checkouts (promise-style;
 * pool.query passes a callback and is left alone) hand every statement to `seen` before it is
 * sent, with its connection.
 */
function interceptingPool(seen: (text: string, client: pg.PoolClient) => void): pg.Pool {
  const pool = createPool(db.url, { max: 4 });
  const wrapped = new WeakSet<pg.PoolClient>(); // a pooled connection comes back: wrap it once
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
  (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = async (...args: unknown[]) => {
    if (args.length > 0) return connect(...args);
    const client = await connect();
    if (wrapped.has(client)) return client;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      seen(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text, client);
      return query(...args);
    };
    return client;
  };
  return pool;
}

/** Cuts `client`'s connection 50 ms from now, while its statement still runs (writing a change set takes 200 ms here). */
const cutSoon = (client: pg.PoolClient) => setTimeout(() => client.connection.stream.destroy(), 50);

/**
 * A pool whose connections are cut when the write path sends COMMIT: `after` the pair (last
 * statement + COMMIT) reached the server — 50 ms later, while the statement still runs (a
 * trigger makes writing a change set take 200 ms, 6.5 s with the comment "very slow") — or
 * `before` it leaves.
 */
const cuttingPool = (when: 'before' | 'after'): pg.Pool =>
  interceptingPool((text, client) => {
    if (text !== 'COMMIT') return;
    if (when === 'before') client.connection.stream.destroy();
    else cutSoon(client);
  });

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

describe('the write path on the copy of a site it holds', () => {
  const actor = { type: 'user' as const, id: 'u-1', name: 'tester' };

  /** A site with `n` gateways (assets that need no parent), each with an address of its own in the site's subnet. */
  async function siteWithGateways(n: number): Promise<{ siteId: string; ids: string[] }> {
    const siteId = await newSite();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      await db.pool.query(
        `INSERT INTO config.assets (id, site_id, kind, model_id, name, status, config, config_version, version) VALUES ($1, $2, 'gateway', 'nexa-gw-200', $3, 'planned', $4, 1, 1)`,
        [id, siteId, `G-${i}`, JSON.stringify(defaultConfig(builtinCatalog().get('nexa-gw-200')!, { name: `g-${i}`, ip: `10.20.0.${10 + i}` }))],
      );
      ids.push(id);
    }
    return { siteId, ids };
  }

  /** A pool that records the statements of its transactions and lone statements (promise-style checkouts). */
  function recordingPool(): { pool: pg.Pool; sent: string[] } {
    const sent: string[] = [];
    return { pool: interceptingPool((text) => sent.push(text)), sent };
  }

  const rename = (wp: ReturnType<typeof createWritePath>, id: string, version: number, name: string) =>
    wp.execute({ siteId: { asset: id }, operations: [{ op: 'updateAsset', id, expectedVersion: version, patch: { name } }] }, { actor, requestId: randomUUID() });

  /** A site of two gateways, and two instances' write paths to it: `here` records its statements, and has written the site once (its copy is held). */
  async function twoInstances() {
    const { siteId, ids } = await siteWithGateways(2);
    const { pool, sent } = recordingPool();
    const here = createWritePath({ pool, catalog: builtinCatalog() });
    const there = createWritePath({ pool: db.pool, catalog: builtinCatalog() });
    await rename(here, ids[0], 1, 'A-1');
    return { siteId, ids, pool, sent, here, there };
  }

  const locks = (sent: string[]) => sent.filter((s) => s.includes('FOR UPDATE')).length;
  const names = async (siteId: string) =>
    (await db.pool.query<{ name: string }>('SELECT name FROM config.assets WHERE site_id = $1 ORDER BY name', [siteId])).rows.map((r) => r.name);

  it('writes a site it holds in one statement, without BEGIN or the lock, and the revisions and the audit chain stay whole', async () => {
    const { siteId, ids } = await siteWithGateways(2);
    const { pool, sent } = recordingPool();
    try {
      const wp = createWritePath({ pool, catalog: builtinCatalog() });
      await rename(wp, ids[0], 1, 'A-1'); // under the lock: the copy is read and kept
      expect(locks(sent)).toBe(1);
      sent.length = 0;
      const second = await rename(wp, ids[1], 1, 'B-1');
      const third = await rename(wp, ids[0], 2, 'A-2');
      expect(sent).toHaveLength(2);
      expect(sent.every((s) => s.includes('config.expect_revision'))).toBe(true);
      expect([second.siteRevision, third.siteRevision]).toEqual([3, 4]);
      expect(await stored(siteId)).toMatchObject({ revision: 4 });
      expect(await names(siteId)).toEqual(['A-2', 'B-1']);
      expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 3 });
    } finally {
      await pool.end();
    }
  });

  it('keeps nothing of a write planned on a copy another instance made stale, and writes it under the lock', async () => {
    const { siteId, ids, pool, sent, here, there } = await twoInstances();
    try {
      await rename(there, ids[1], 1, 'B-1'); // the copy held here is one revision behind
      sent.length = 0;
      const outcome = await rename(here, ids[0], 2, 'A-2'); // valid on the stale copy too
      expect(outcome.siteRevision).toBe(4);
      // The lone statement failed on the revision, then the write took the lock and read the site again.
      expect(sent[0]).toContain('config.expect_revision');
      expect(locks(sent)).toBe(1);
      expect(await names(siteId)).toEqual(['A-2', 'B-1']);
      const changesets = await db.pool.query('SELECT site_revision FROM config.changesets WHERE site_id = $1 ORDER BY site_revision', [siteId]);
      expect(changesets.rows.map((r) => Number(r.site_revision))).toEqual([2, 3, 4]);
      expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 3 });
      // Written under the lock, the write left a current copy: the next one goes alone again.
      sent.length = 0;
      await rename(here, ids[0], 3, 'A-3');
      expect(sent).toEqual([expect.stringContaining('config.expect_revision')]);
      // Stale a second time within 30 s: the other instance writes this site on and on, and its
      // writes here take the lock for a while rather than plan on a copy each time first.
      await rename(there, ids[1], 2, 'B-2');
      sent.length = 0;
      await rename(here, ids[0], 4, 'A-4');
      expect(sent[0]).toContain('config.expect_revision');
      expect(locks(sent)).toBe(1);
      sent.length = 0;
      await rename(here, ids[0], 5, 'A-5');
      expect(sent[0]).toMatch(/^BEGIN/);
      expect(await names(siteId)).toEqual(['A-5', 'B-2']);
      expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 7 });
    } finally {
      await pool.end();
    }
  });

  it('answers a change the copy would refuse or call stale from the current state, under the lock', async () => {
    const { siteId, ids, pool, sent, here, there } = await twoInstances();
    try {
      await rename(there, ids[0], 2, 'A-2');
      // The copy here still has version 2 of the asset: a write expecting 3 fails on the copy and
      // is written under the lock; one expecting 2 passes on the copy and is refused by the database's 3.
      expect((await rename(here, ids[0], 3, 'A-3')).siteRevision).toBe(4);
      await rename(there, ids[0], 4, 'A-4');
      await expect(rename(here, ids[0], 4, 'A-stale')).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
      // A refusal moves the audit chain and not the revision: the next write takes the lock (no
      // statement planned on the copy's chain head first), and the one after needs it no more.
      await expect(rename(here, ids[1], 1, 'a-4')).rejects.toMatchObject({ code: 'CONFLICT_RULES' });
      sent.length = 0;
      expect((await rename(here, ids[1], 1, 'B-1')).siteRevision).toBe(6);
      expect(sent[0]).toMatch(/^BEGIN/);
      expect((await rename(here, ids[1], 2, 'B-2')).siteRevision).toBe(7);
      expect(sent.slice(4)).toEqual([expect.stringContaining('config.expect_revision')]); // after BEGIN, the lock, the write and COMMIT
      // A refusal recorded by another instance: the chain moved on and the revision did not. The
      // copy's sequence number is taken, the statement keeps nothing, and the write takes the lock.
      await expect(rename(there, ids[0], 5, 'b-2')).rejects.toMatchObject({ code: 'CONFLICT_RULES' });
      sent.length = 0;
      expect((await rename(here, ids[1], 3, 'B-3')).siteRevision).toBe(8);
      expect(sent[0]).toContain('config.expect_revision');
      expect(locks(sent)).toBe(1);
      expect(await names(siteId)).toEqual(['A-4', 'B-3']);
      expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 9 });
    } finally {
      await pool.end();
    }
  });

  it('writes every one of many concurrent changes to one site once, in one chain', async () => {
    const { siteId, ids } = await siteWithGateways(12);
    const wp = createWritePath({ pool: db.pool, catalog: builtinCatalog() });
    await rename(wp, ids[0], 1, 'First');
    const outcomes = await Promise.all(ids.slice(1).map((id, i) => rename(wp, id, 1, `N-${i}`)));
    expect(outcomes.map((o) => o.siteRevision).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i + 3));
    expect(await stored(siteId)).toMatchObject({ revision: 13 });
    expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 12 });
  });

  it('writes concurrent changes to a site it holds one after another, each in one statement planned on the copy the one before left', async () => {
    const { siteId, ids } = await siteWithGateways(8);
    const { pool, sent } = recordingPool();
    try {
      const wp = createWritePath({ pool, catalog: builtinCatalog() });
      await rename(wp, ids[0], 1, 'First');
      sent.length = 0;
      const outcomes = await Promise.all(ids.slice(1).map((id, i) => rename(wp, id, 1, `N-${i}`)));
      // In the order they came: none found its copy stale, none took the lock.
      expect(outcomes.map((o) => o.siteRevision)).toEqual(Array.from({ length: 7 }, (_, i) => i + 3));
      expect(sent).toHaveLength(7);
      expect(sent.every((s) => s.includes('config.expect_revision'))).toBe(true);
      expect(await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).toMatchObject({ ok: true, events: 8 });
      // A write refused, on a version or by a rule, ends its turn too: the next write goes on.
      const [stale, taken, kept] = await Promise.allSettled([rename(wp, ids[1], 1, 'stale'), rename(wp, ids[3], 2, 'n-0'), rename(wp, ids[2], 2, 'Kept')]);
      expect(stale).toMatchObject({ status: 'rejected', reason: { code: 'PRECONDITION_FAILED' } });
      expect(taken).toMatchObject({ status: 'rejected', reason: { code: 'CONFLICT_RULES' } });
      expect(kept).toMatchObject({ status: 'fulfilled', value: { siteRevision: 10 } });
      // A dry run beside a slow write (2 s: the test's trigger) plans on what is committed and changes nothing.
      const slow = wp.execute({ siteId, comment: 'slow', operations: [{ op: 'updateAsset', id: ids[5], expectedVersion: 2, patch: { name: 'Slow' } }] }, { actor, requestId: randomUUID() });
      const dryRun = await wp.execute({ siteId, dryRun: true, operations: [{ op: 'updateAsset', id: ids[4], expectedVersion: 2, patch: { name: 'Dry' } }] }, { actor, requestId: randomUUID() });
      expect(dryRun.dryRun).toBe(true);
      // Before or after the slow write, whichever took the site's row lock first.
      expect([10, 11]).toContain(dryRun.siteRevision);
      expect((await slow).siteRevision).toBe(11);
      const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM config.assets WHERE id = $1', [ids[4]]);
      expect(rows[0].name).not.toBe('Dry');
    } finally {
      await pool.end();
    }
  });

  it('answers the change as applied when the answer to its lone statement is lost and the database committed it', async () => {
    const { siteId, ids } = await siteWithGateways(1);
    const cache = new SiteGraphCache();
    await createWritePath({ pool: db.pool, catalog: builtinCatalog(), cache }).execute(
      { siteId, operations: [{ op: 'updateSite', expectedVersion: 1, patch: { name: 'Held' } }] },
      { actor, requestId: randomUUID() },
    );
    // Cut while the statement runs; the write must have gone alone (no BEGIN).
    const sent: string[] = [];
    const pool = interceptingPool((text, client) => {
      sent.push(text);
      if (text.includes('config.expect_revision')) cutSoon(client);
    });
    try {
      const outcome = await createWritePath({ pool, catalog: builtinCatalog(), cache }).execute(
        { siteId: { asset: ids[0] }, operations: [{ op: 'updateAsset', id: ids[0], expectedVersion: 1, patch: { name: 'Kept' } }] },
        { actor, requestId: randomUUID() },
      );
      expect(sent[0]).toContain('config.expect_revision');
      expect(sent.some((text) => text.startsWith('BEGIN'))).toBe(false);
      expect(outcome.siteRevision).toBe(3);
      expect(await names(siteId)).toEqual(['Kept']);
      const cs = await db.pool.query('SELECT 1 FROM config.changesets WHERE id = $1', [outcome.changesetId]);
      expect(cs.rowCount).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
