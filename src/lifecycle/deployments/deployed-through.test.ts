import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHash } from '../../core/config-hash.ts';
import { createTestDatabase, type TestDatabase } from '../../db/test-database.ts';
import { withTransaction } from '../../db/tx.ts';
import { reportedState } from '../devices/device-store.ts';
import { migrateLifecycleSchema } from '../service.ts';
import { countedReportedStates, deployedThrough } from './deployed-through.ts';
import { insertDeployment } from './deployment-store.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateLifecycleSchema(db.url);
});
afterAll(() => db?.drop());

/** A deployment of `assetIds` through one gateway of one site; its targets sent unless `sent: false`. */
async function deployThrough(siteCode: string, gatewayId: string, assetIds: string[], opts: { sent?: boolean } = {}): Promise<void> {
  const id = randomUUID();
  await withTransaction(db.pool, (client) =>
    insertDeployment(
      client,
      { id, orgId: randomUUID(), siteId: randomUUID(), batchSize: assetIds.length, failureThreshold: 1, timeoutMs: 10_000, actor: { type: 'token', id: 'token:test', name: 'test' }, requestId: null, comment: null },
      assetIds.map((assetId) => ({ assetId, gatewayId, siteCode, batch: 1, configVersion: 1, configHash: configHash({}), config: {} })),
    ),
  );
  if (opts.sent ?? true) await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1`, [id]);
}

/** A stored state, written as it may have been before the bridge checked topics. */
const storeRaw = (assetId: string, siteCode: string, gatewayId: string, version: number) =>
  db.pool.query(`INSERT INTO lifecycle.reported_state (asset_id, site_code, gateway_id, version, hash) VALUES ($1, $2, $3, $4, $5)`, [assetId, siteCode, gatewayId, version, configHash({ version })]);

describe('the reported states that count', () => {
  it('count only a state stored through the site and gateway the asset is deployed through now', async () => {
    const [gatewayA, gatewayB] = [randomUUID(), randomUUID()];
    const [right, otherGateway, otherSite, neverDeployed] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await deployThrough('S-1', gatewayA, [right, otherGateway, otherSite]);
    await storeRaw(right, 'S-1', gatewayA, 3);
    await storeRaw(otherGateway, 'S-1', gatewayB, 3);
    await storeRaw(otherSite, 'S-2', gatewayA, 3);
    await storeRaw(neverDeployed, 'S-1', gatewayA, 3);

    const counted = await countedReportedStates(db.pool, [right, otherGateway, otherSite, neverDeployed]);
    expect([...counted.keys()]).toEqual([right]);
    expect(counted.get(right)).toMatchObject({ version: 3, gateway_id: gatewayA });
    // The commissioning guard reads the same.
    expect(await reportedState(db.pool, right)).toEqual({ version: 3, hash: configHash({ version: 3 }) });
    expect(await reportedState(db.pool, otherGateway)).toBeNull();
    expect(await reportedState(db.pool, neverDeployed)).toBeNull();
  });

  it('stop counting a state reported through the old gateway once the asset is deployed through a new one, even before it is sent', async () => {
    const [oldGateway, newGateway] = [randomUUID(), randomUUID()];
    const asset = randomUUID();
    await deployThrough('S-1', oldGateway, [asset]);
    await storeRaw(asset, 'S-1', oldGateway, 1);
    expect(await reportedState(db.pool, asset)).not.toBeNull();

    await deployThrough('S-1', newGateway, [asset], { sent: false });
    expect((await deployedThrough(db.pool, [asset])).get(asset)).toEqual({ siteCode: 'S-1', gatewayId: newGateway });
    expect(await reportedState(db.pool, asset)).toBeNull();
    expect((await countedReportedStates(db.pool, [asset])).size).toBe(0);
  });

  it('know no path for an asset whose only deployment target was cancelled before it was sent', async () => {
    const asset = randomUUID();
    await deployThrough('S-1', randomUUID(), [asset], { sent: false });
    await db.pool.query(`UPDATE lifecycle.deployment_targets SET status = 'cancelled' WHERE asset_id = $1`, [asset]);
    expect((await deployedThrough(db.pool, [asset])).size).toBe(0);
  });
});
