import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { createAccessCache, type AccessCache } from './access-cache.ts';
import { migrateAdminSchema } from './service.ts';

let db: TestDatabase;
const caches: AccessCache[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAdminSchema(db.url);
  await db.pool.query(`INSERT INTO admin.orgs (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'Org')`);
  await db.pool.query(
    `INSERT INTO admin.users (id, org_id, email, name) VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'a@example.test', 'A')`,
  );
  await db.pool.query(
    `INSERT INTO admin.api_tokens (id, org_id, user_id, name, secret_hash, prefix, bindings)
     VALUES ('token:000000000001', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 't', '\\x01', 'rema_', '[]')`,
  );
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});
afterAll(() => db?.drop());

function cacheOf(opts: { ttlMs?: number; retryMs?: number; heartbeatMs?: number; answerMs?: number; now?: () => number } = {}) {
  const cache = createAccessCache({ connection: { connectionString: db.url }, ...opts, ttlMs: opts.ttlMs ?? 30_000, onDown: () => undefined });
  caches.push(cache);
  return cache;
}

/** A lookup that counts its reads and answers with the read's number. */
function counter() {
  let reads = 0;
  return { load: async () => ++reads, get reads() { return reads; } };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens the listening connection (on the first lookup) and waits until it listens. */
async function listening(cache: AccessCache) {
  await cache.get('warm-up', async () => undefined);
  await until('the cache listens', () => cache.listening);
}

const listeners = async () =>
  (await db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rema-access-listener'`)).rows;

describe('the access cache', () => {
  it('keeps nothing until it listens, then keeps an answer for its key', async () => {
    const cache = cacheOf();
    const c = counter();
    expect(await cache.get('k', c.load)).toBe(1); // the first lookup opens the connection; not kept
    await until('the cache listens', () => cache.listening);
    expect(await cache.get('k', c.load)).toBe(2);
    expect(await cache.get('k', c.load)).toBe(2);
    expect(await cache.get('other', c.load)).toBe(3);
    expect(c.reads).toBe(3);
  });

  it('drops everything when a change to tokens, users or role bindings commits, in any connection', async () => {
    const cache = cacheOf();
    await listening(cache);
    const token = `WHERE id = 'token:000000000001'`;
    const user = `WHERE id = '00000000-0000-4000-8000-000000000002'`;
    const changes = [
      ...['org_id', 'user_id', 'secret_hash', 'bindings', 'expires_at', 'revoked_at'].map((column) => `UPDATE admin.api_tokens SET ${column} = ${column} ${token}`),
      ...['id', 'org_id', 'name', 'disabled', 'deleted_at'].map((column) => `UPDATE admin.users SET ${column} = ${column} ${user}`),
      `INSERT INTO admin.role_bindings (user_id, org_id, site_id, role) VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', NULL, 'viewer')`,
      `UPDATE admin.role_bindings SET role = 'auditor' WHERE user_id = '00000000-0000-4000-8000-000000000002'`,
      `DELETE FROM admin.role_bindings WHERE user_id = '00000000-0000-4000-8000-000000000002'`,
      `TRUNCATE admin.role_bindings`,
      `INSERT INTO admin.api_tokens (id, org_id, user_id, name, secret_hash, prefix, bindings)
       SELECT 'token:000000000002', org_id, user_id, 'gone', '\\x02', prefix, bindings FROM admin.api_tokens ${token};
       DELETE FROM admin.api_tokens WHERE id = 'token:000000000002'`,
      `INSERT INTO admin.users (id, org_id, email, name) VALUES ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'b@example.test', 'B');
       DELETE FROM admin.users WHERE id = '00000000-0000-4000-8000-000000000003'`,
    ];
    for (const sql of changes) {
      const c = counter();
      await cache.get(sql, c.load);
      expect(await cache.get(sql, c.load)).toBe(1);
      await db.pool.query(sql);
      await until(`the cache drops what it kept after: ${sql}`, async () => (await cache.get(sql, c.load)) === 2);
    }
  });

  it('keeps its answers through a change rolled back, and through a token merely being used', async () => {
    const cache = cacheOf();
    await listening(cache);
    const c = counter();
    await cache.get('k', c.load);
    await expect(
      withTransaction(db.pool, async (client) => {
        await client.query(`UPDATE admin.api_tokens SET revoked_at = now() WHERE id = 'token:000000000001'`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await db.pool.query(`UPDATE admin.api_tokens SET last_used_at = now() WHERE id = 'token:000000000001'`);
    // A change that does notify, after both: once it is seen, the two before it were seen too.
    const marker = counter();
    await cache.get('marker', marker.load);
    await db.pool.query(`UPDATE admin.users SET name = name WHERE id = '00000000-0000-4000-8000-000000000002'`);
    await until('the marker change is seen', async () => (await cache.get('marker', marker.load)) === 2);
    expect(c.reads).toBe(1);
  });

  it('does not keep the answer of a lookup under way when a change is notified', async () => {
    const cache = cacheOf();
    await listening(cache);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reads = 0;
    const slow = async () => {
      reads++;
      if (reads === 1) await gate;
      return reads;
    };
    // Kept before the change, so that its second read says the notification has come.
    const probe = counter();
    await cache.get('probe', probe.load);
    expect(await cache.get('probe', probe.load)).toBe(1);
    const first = cache.get('k', slow);
    await db.pool.query(`UPDATE admin.api_tokens SET bindings = bindings WHERE id = 'token:000000000001'`);
    await until('the change is seen', async () => (await cache.get('probe', probe.load)) === 2);
    release();
    expect(await first).toBe(1); // its own request gets the answer it read
    expect(await cache.get('k', slow)).toBe(2); // but it was not kept
  });

  it('keeps nothing while its connection is down and listens again after the retry interval', async () => {
    const cache = cacheOf({ retryMs: 200 });
    await listening(cache);
    const c = counter();
    await cache.get('k', c.load);
    expect(await cache.get('k', c.load)).toBe(1);
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rema-access-listener'`);
    await until('the cache sees its connection gone', () => !cache.listening);
    expect(await cache.get('k', c.load)).toBe(2);
    expect(await cache.get('k', c.load)).toBe(3);
    await until('the cache listens again', async () => (await cache.get('k', c.load), cache.listening));
    const after = counter();
    await cache.get('after', after.load);
    expect(await cache.get('after', after.load)).toBe(1); // kept again
  });

  it('counts a connection that stops answering as down: its heartbeat finds it out', async () => {
    const cache = cacheOf({ heartbeatMs: 100, answerMs: 300, retryMs: 60_000 });
    await listening(cache);
    await until('only this cache listens', async () => (await listeners()).length === 1);
    const [listener] = await listeners();
    // The backend stops answering (as behind a dead link) but its socket stays open.
    process.kill(listener!.pid, 'SIGSTOP');
    try {
      await until('the heartbeat finds the connection dead', () => !cache.listening, 3000);
    } finally {
      process.kill(listener!.pid, 'SIGCONT');
    }
    const c = counter();
    await cache.get('k', c.load);
    expect(await cache.get('k', c.load)).toBe(2);
  });

  it('reads afresh and keeps nothing when asked for a fresh answer', async () => {
    const cache = cacheOf();
    await listening(cache);
    const c = counter();
    await cache.get('k', c.load);
    expect(await cache.get('k', c.load, { fresh: true })).toBe(2);
    expect(await cache.get('k', c.load)).toBe(1);
  });

  it('freezes what it keeps: no request can change what the next one reads', async () => {
    const cache = cacheOf();
    await listening(cache);
    const load = async () => ({ id: 'token:1', bindings: [{ role: 'viewer' }] });
    await cache.get('k', load);
    const kept = await cache.get('k', load);
    expect(() => kept.bindings.push({ role: 'admin' })).toThrow(TypeError);
    expect(() => ((kept.bindings[0] as { role: string }).role = 'admin')).toThrow(TypeError);
  });

  it('never keeps an answer past its own expiry, nor an unknown credential', async () => {
    const cache = cacheOf();
    await listening(cache);
    const c = counter();
    await cache.get('expired', c.load, { until: () => Date.now() - 1 });
    await cache.get('expired', c.load, { until: () => Date.now() - 1 });
    expect(c.reads).toBe(2);
    let misses = 0;
    await cache.get('unknown', async () => (misses++, undefined));
    await cache.get('unknown', async () => (misses++, undefined));
    expect(misses).toBe(2);
  });

  it('keeps an answer no longer than its TTL', async () => {
    let clock = 1_000_000;
    const cache = cacheOf({ ttlMs: 1000, now: () => clock });
    await listening(cache);
    const c = counter();
    await cache.get('k', c.load);
    clock += 999;
    expect(await cache.get('k', c.load)).toBe(1);
    clock += 2;
    expect(await cache.get('k', c.load)).toBe(2);
  });

  it('with a TTL of 0 opens no connection and reads every time', async () => {
    const cache = cacheOf({ ttlMs: 0 });
    const c = counter();
    for (let i = 0; i < 3; i++) await cache.get('k', c.load);
    expect(c.reads).toBe(3);
    expect(cache.listening).toBe(false);
    await until('no listener is left of the tests before', async () => (await listeners()).length === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await listeners()).toEqual([]);
  });

  it('closes its connection', async () => {
    const cache = cacheOf();
    await listening(cache);
    await until('one listener is left', async () => (await listeners()).length === 1);
    await cache.close();
    await until('the listener is gone', async () => (await listeners()).length === 0);
  });
});
