import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateAuditSchema } from '../audit/migrate-audit.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { migrateConfigSchema } from './service.ts';
import { DEFAULT_SITE_CACHE_ENTITIES, lockSiteForWrite, siteCacheSizeFromEnv, SiteGraphCache } from './site-store.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateConfigSchema(db.url);
});
afterAll(() => db?.drop());

async function newSite(assets: number): Promise<{ siteId: string; assetIds: string[] }> {
  const siteId = randomUUID();
  await db.pool.query(`INSERT INTO config.sites (id, org_id, code, name, timezone, network, revision, version) VALUES ($1, $2, $3, 'Site', 'UTC', '{}', 1, 1)`, [
    siteId,
    randomUUID(),
    `S-${siteId.slice(0, 8).toUpperCase()}`,
  ]);
  const assetIds: string[] = [];
  for (let i = 0; i < assets; i++) assetIds.push(await addSensor(siteId, `T-${i}`));
  return { siteId, assetIds };
}

async function addSensor(siteId: string, name: string, client: { query: typeof db.pool.query } = db.pool): Promise<string> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO config.assets (id, site_id, kind, model_id, name, status, config, config_version, version) VALUES ($1, $2, 'sensor', 'therma-t1', $3, 'planned', '{}', 1, 1)`,
    [id, siteId, name],
  );
  return id;
}

describe('lockSiteForWrite', () => {
  it('reads the graph with the lock when no current copy is held, and not when one is', async () => {
    const { siteId, assetIds } = await newSite(3);
    const cache = new SiteGraphCache();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const first = await lockSiteForWrite(client, { asset: assetIds[1] }, cache);
      await client.query('COMMIT');
      expect(first?.site.id).toBe(siteId);
      expect([...first!.graph.assets.keys()].sort()).toEqual([...assetIds].sort());
      cache.set(first!.graph);

      await client.query('BEGIN');
      const second = await lockSiteForWrite(client, { asset: assetIds[2] }, cache);
      await client.query('COMMIT');
      expect(second?.graph).toBe(first!.graph); // the held copy, not a new read
    } finally {
      client.release();
    }
    expect(await lockSiteForWrite(db.pool, { asset: randomUUID() }, cache)).toBeUndefined();
    expect(await lockSiteForWrite(db.pool, randomUUID(), cache)).toBeUndefined();
  });

  it('reads the graph again when a write committed while it waited for the lock', async () => {
    const { siteId } = await newSite(2);
    const cache = new SiteGraphCache();
    const holder = await db.pool.connect();
    const waiter = await db.pool.connect();
    try {
      // A writer holds the site and adds an asset; another write queues on the lock meanwhile.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM config.sites WHERE id = $1 FOR UPDATE`, [siteId]);
      const added = await addSensor(siteId, 'T-late', holder);
      await holder.query(`UPDATE config.sites SET revision = revision + 1 WHERE id = $1`, [siteId]);
      await waiter.query('BEGIN');
      const waiting = lockSiteForWrite(waiter, siteId, cache);
      await new Promise((r) => setTimeout(r, 200));
      await holder.query('COMMIT');
      const locked = await waiting;
      await waiter.query('COMMIT');
      // The statement's own snapshot predates the commit; the graph must not.
      expect(locked?.site.revision).toBe(2);
      expect(locked?.graph.assets.has(added)).toBe(true);
      expect(locked?.graph.assets.size).toBe(3);
    } finally {
      holder.release();
      waiter.release();
    }
  });
});

describe('SiteGraphCache', () => {
  it('holds the head of a site\'s audit chain with its copy; a stale copy drops it, and two within 30 s keep it out for 30 s', async () => {
    const { siteId, assetIds } = await newSite(1);
    const cache = new SiteGraphCache();
    const { graph } = (await lockSiteForWrite(db.pool, siteId))!;
    const head = { seq: 3, hash: 'h3' };
    cache.set(graph, undefined, head);
    expect(cache.current({ asset: assetIds[0] })).toEqual({ graph, head });
    cache.forgetHead(siteId); // a refusal went into the chain
    expect(cache.current(siteId)).toBeUndefined();
    cache.set(graph, undefined, head);
    const t0 = Date.now();
    cache.markStale(siteId, t0); // once: the next write under the lock stores a head again
    expect(cache.current(siteId)).toBeUndefined();
    cache.set(graph, undefined, head);
    expect(cache.current(siteId)?.head).toEqual(head);
    cache.markStale(siteId, t0 + 1000); // twice within 30 s: no head is held until 30 s after the second
    cache.set(graph, undefined, head);
    expect(cache.current(siteId)).toBeUndefined();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(t0 + 1000 + 29_000);
      cache.set(graph, undefined, head);
      expect(cache.current(siteId)).toBeUndefined();
      vi.setSystemTime(t0 + 1000 + 30_000);
      cache.set(graph, undefined, head);
      expect(cache.current(siteId)?.head).toEqual(head);
    } finally {
      vi.useRealTimers();
    }
    cache.delete(siteId);
    expect(cache.current(siteId)).toBeUndefined();
  });

  it('finds a held site by the id of one of its assets, and forgets it with the site', async () => {
    const { siteId, assetIds } = await newSite(2);
    const cache = new SiteGraphCache();
    const locked = await lockSiteForWrite(db.pool, siteId, cache);
    cache.set(locked!.graph);
    expect(cache.find({ asset: assetIds[0] })).toBe(locked!.graph);
    expect(cache.find(siteId)).toBe(locked!.graph);
    cache.delete(siteId);
    expect(cache.find({ asset: assetIds[0] })).toBeUndefined();
  });

  // A write passes what it started from and what it touched; only when the held copy is that start may the index look at the touched ids alone.
  it.each(['without a change', 'with the change from the held copy', 'with a change from another copy'] as const)('follows the assets and cables a new copy of a site gained or lost, and counts them (%s)', async (mode) => {
    const { siteId, assetIds } = await newSite(3);
    const cache = new SiteGraphCache(12);
    const graph = (await lockSiteForWrite(db.pool, siteId))!.graph;
    const cable = (id: string) => ({ id, siteId, a: { assetId: assetIds[1], port: 'out' }, b: { assetId: assetIds[2], port: 'in' }, label: null, lengthM: 1, version: 1 });
    const first = { ...graph, connections: new Map([['c-1', cable('c-1')]]) };
    cache.set(first); // 3 assets, 1 cable
    // A later copy without the first asset and the cable, with one more asset and another cable: as after deletes and creates.
    const assets = new Map(graph.assets);
    assets.delete(assetIds[0]);
    const added = { ...graph.assets.get(assetIds[0])!, id: randomUUID() };
    assets.set(added.id, added);
    const next = { ...graph, assets, connections: new Map([['c-2', cable('c-2')]]) };
    const touched = { assets: [assetIds[0], added.id], connections: ['c-1', 'c-2'] };
    if (mode === 'without a change') cache.set(next);
    else if (mode === 'with the change from the held copy') cache.set(next, { from: first, touched });
    else cache.set(next, { from: graph, touched: { assets: [], connections: [] } }); // `graph` is not held: every id is looked at
    // still 3 assets, 1 cable
    expect(cache.find({ asset: assetIds[0] })).toBeUndefined();
    expect(cache.find({ connection: 'c-1' })).toBeUndefined();
    expect(cache.find({ asset: added.id })).toBe(next);
    expect(cache.find({ asset: assetIds[1] })).toBe(next);
    expect(cache.find({ connection: 'c-2' })).toBe(next);
    // Counted as 4, not 8: a site of 8 more fits beside it (12), one more asset does not.
    const other = await newSite(8);
    cache.set((await lockSiteForWrite(db.pool, other.siteId))!.graph);
    expect(cache.find(siteId)).toBe(next);
    expect(cache.find(other.siteId)?.site.id).toBe(other.siteId);
    const third = await newSite(1);
    cache.set((await lockSiteForWrite(db.pool, third.siteId))!.graph);
    expect(cache.find(siteId)).toBeUndefined();
    expect(cache.find({ asset: added.id })).toBeUndefined();
    expect(cache.find({ connection: 'c-2' })).toBeUndefined();
    expect(cache.find(other.siteId)?.site.id).toBe(other.siteId);
  });

  it('keeps the site stored again last, so the least recently stored one leaves first', async () => {
    const [a, b, c] = [await newSite(2), await newSite(2), await newSite(2)];
    const cache = new SiteGraphCache(5);
    const graphA = (await lockSiteForWrite(db.pool, a.siteId))!.graph;
    cache.set(graphA);
    cache.set((await lockSiteForWrite(db.pool, b.siteId))!.graph);
    cache.set({ ...graphA }); // a write to A: its new copy
    cache.set((await lockSiteForWrite(db.pool, c.siteId))!.graph); // 6 > 5: the oldest goes
    expect(cache.find(b.siteId)).toBeUndefined();
    expect(cache.find({ asset: b.assetIds[0] })).toBeUndefined();
    expect(cache.find(a.siteId)).toBeDefined();
    expect(cache.find({ asset: a.assetIds[0] })).toBeDefined();
    expect(cache.find(c.siteId)).toBeDefined();
  });

  it('stays within its bound of assets and cables, least recently stored site out first', async () => {
    const a = await newSite(3);
    const b = await newSite(3);
    const cache = new SiteGraphCache(5);
    cache.set((await lockSiteForWrite(db.pool, a.siteId))!.graph);
    cache.set((await lockSiteForWrite(db.pool, b.siteId))!.graph);
    expect(cache.find(a.siteId)).toBeUndefined();
    expect(cache.find({ asset: a.assetIds[0] })).toBeUndefined();
    expect(cache.find({ asset: b.assetIds[0] })?.site.id).toBe(b.siteId);
  });
});

describe('siteCacheSizeFromEnv', () => {
  it('takes a positive whole number, and the default when unset or empty', () => {
    expect(siteCacheSizeFromEnv('600000')).toBe(600_000);
    expect(siteCacheSizeFromEnv(' 5 ')).toBe(5);
    expect(siteCacheSizeFromEnv(undefined)).toBe(DEFAULT_SITE_CACHE_ENTITIES);
    expect(siteCacheSizeFromEnv('')).toBe(DEFAULT_SITE_CACHE_ENTITIES);
  });

  it('refuses anything else with a message naming the setting and the value', () => {
    for (const raw of ['0', '-1', '1.5', '60k', 'lots', '1e400', String(2 ** 60)]) {
      expect(() => siteCacheSizeFromEnv(raw), raw).toThrow(`REMA_SITE_CACHE_ENTITIES must be a positive whole number of assets and cables to cache (default 60000); got "${raw}"`);
    }
  });
});
