import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainEvents } from '../audit/append.ts';
import { migrateAuditSchema } from '../audit/migrate-audit.ts';
import { builtinCatalog } from '../core/catalog/catalog.ts';
import { applyOperations } from '../core/changes/apply-operations.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { persistChange } from './persist-change.ts';
import { migrateConfigSchema } from './service.ts';
import { lockSiteForWrite } from './site-store.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
  await migrateConfigSchema(db.url);
});
afterAll(() => db?.drop());

async function newSensor(): Promise<{ siteId: string; assetId: string }> {
  const siteId = randomUUID();
  const assetId = randomUUID();
  await db.pool.query(`INSERT INTO config.sites (id, org_id, code, name, timezone, network, revision, version) VALUES ($1, $2, $3, 'Site', 'UTC', '{}', 4, 1)`, [
    siteId,
    randomUUID(),
    `S-${siteId.slice(0, 8).toUpperCase()}`,
  ]);
  await db.pool.query(
    `INSERT INTO config.assets (id, site_id, kind, model_id, name, status, config, config_version, version) VALUES ($1, $2, 'sensor', 'therma-t1', 'T-1', 'planned', '{}', 1, 1)`,
    [assetId, siteId],
  );
  return { siteId, assetId };
}

/** Renames the sensor under its site's lock, recording `revision` as the one the change makes. */
const rename = (siteId: string, assetId: string, revision: (locked: number) => number) =>
  withTransaction(db.pool, async (client, tx) => {
    const locked = (await lockSiteForWrite(client, siteId))!;
    const applied = applyOperations(locked.graph, [{ op: 'updateAsset', id: assetId, expectedVersion: 1, patch: { name: 'T-renamed' } }], { catalog: builtinCatalog() });
    const record = { changesetId: randomUUID(), revision: revision(locked.site.revision), changeset: { actor: {}, requestId: 'r', comment: null, operations: [] }, audit: chainEvents([], new Map()), outbox: [] };
    return persistChange(client, applied, record, (query) => tx.commitWith(query));
  });

const state = async (siteId: string, assetId: string) => ({
  name: (await db.pool.query('SELECT name FROM config.assets WHERE id = $1', [assetId])).rows[0].name,
  revision: Number((await db.pool.query('SELECT revision FROM config.sites WHERE id = $1', [siteId])).rows[0].revision),
  changesets: (await db.pool.query('SELECT count(*)::int AS n FROM config.changesets WHERE site_id = $1', [siteId])).rows[0].n,
});

describe('persistChange', () => {
  it('writes a change in the statement that commits, and answers the revision it made', async () => {
    const { siteId, assetId } = await newSensor();
    expect(await rename(siteId, assetId, (r) => r + 1)).toBe(5);
    expect(await state(siteId, assetId)).toEqual({ name: 'T-renamed', revision: 5, changesets: 1 });
  });

  it('keeps nothing of a change whose revision is not the one its write produces (written without the lock)', async () => {
    const { siteId, assetId } = await newSensor();
    await expect(rename(siteId, assetId, (r) => r + 2)).rejects.toThrow('site revision is 5, not 6: the change was written without its site\'s lock');
    expect(await state(siteId, assetId)).toEqual({ name: 'T-1', revision: 4, changesets: 0 });
  });
});
