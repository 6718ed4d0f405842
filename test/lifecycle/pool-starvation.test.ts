/**
 * Found by the device races of the chaos suite (test/chaos/races.chaos.ts): a device write holds
 * its transaction while it calls the configuration service, which in one process took its
 * connection from the same pool. Enough concurrent writes held every connection while their
 * calls waited for one — the pool starved itself until connects timed out, and answered 503
 * after 10 seconds. Now the lifecycle service has a pool of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { buildSite, type SiteFixture } from '../api/helpers.ts';
import { injectApi, TOKEN } from './deployments-fixture.ts';
import { deviceTag, registerDevice, walk, type Device } from './devices-fixtures.ts';

const POOL_SIZE = 4;

let db: TestDatabase;
let server: Server;
let f: SiteFixture;
beforeAll(async () => {
  db = await createTestDatabase();
  const before = process.env.PG_POOL_SIZE;
  process.env.PG_POOL_SIZE = String(POOL_SIZE);
  try {
    server = await buildServer({ databaseUrl: db.url, token: TOKEN, events: false });
  } finally {
    if (before === undefined) delete process.env.PG_POOL_SIZE;
    else process.env.PG_POOL_SIZE = before;
  }
  await server.app.ready();
  f = await buildSite(injectApi(server), { meters: 1, sensors: 0 });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe(`device writes on an instance with ${POOL_SIZE} connections`, () => {
  it('many at once on one device are answered at once — one wins, the others are stale — not 503 after a starved pool times out', async () => {
    const api = injectApi(server);
    const device: Device = await walk(api, await registerDevice(api, 'voltis-em-340', '1.0.0'), [['install', { assetId: f.meters[0].id }]]);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 4 * POOL_SIZE }, (_, i) => api('PATCH', `/v1/devices/${device.id}`, { firmware: i % 2 ? '1.3.0' : '2.0.1' }, { 'if-match': deviceTag(device) })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200)).toEqual(Array(4 * POOL_SIZE - 1).fill(412));
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
