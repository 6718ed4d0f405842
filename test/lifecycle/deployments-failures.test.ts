import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { Server } from '../../src/server.ts';
import { type Api, buildSite, createAsset, gatewayConfig, getAsset, meterConfig, type Page } from '../api/helpers.ts';
import { clearRetained, deploy, settled, simulate, startRema, waitFor } from './deployments-fixture.ts';

let db: TestDatabase;
let server: Server;
let api: Api;
const sites: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ server, api } = await startRema(db.url));
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
  await Promise.all(sites.map(clearRetained));
});

describe('failures above the threshold', () => {
  it('abort the remaining batches: nothing more is sent and no device that rejected is marked deployed', async () => {
    const f = await buildSite(api, { meters: 4, sensors: 0 });
    sites.push(f.site.code);
    const sim = await simulate(api, f.site.code, { failureRate: 1 });
    try {
      const d = await deploy(api, { siteId: f.site.id, batchSize: 2, failureThreshold: 0.3, timeoutMs: 5000 });
      const done = await settled(api, d.id);
      expect(done.status).toBe('aborted');
      expect(done.reason).toBe('2 of 2 targets failed or timed out (100 %), above the threshold of 30 %');
      expect(done.targets).toMatchObject({ total: 6, failed: 2, cancelled: 4, acked: 0 });
      const first = done.results.filter((t) => t.batch === 1);
      for (const t of first) expect(t).toMatchObject({ status: 'failed', error: 'rejected by the gateway: simulated failure: device refused the configuration' });
      for (const t of done.results.filter((r) => r.batch > 1)) expect(t).toMatchObject({ status: 'cancelled', sentAt: null });

      expect(sim.acks().map((a) => a.assetId).sort()).toEqual(first.map((t) => t.assetId).sort());
      for (const a of [f.gateway, ...f.meters, f.controller]) expect((await getAsset(api, a.id)).deployedVersion).toBeNull();

      const audit = await api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site.id}&entityId=${d.id}&limit=50`);
      expect(audit.body.items.map((e) => e.action).reverse()).toEqual(['create', 'start-batch', 'finish-batch', 'abort']);
      expect(audit.body.items[0].after).toMatchObject({ status: 'aborted' });
    } finally {
      await sim.stop();
    }
  });
});

describe('silent devices', () => {
  it('time out while the others are acknowledged; a late ack is still recorded as deployed, since the device then runs it', async () => {
    const f = await buildSite(api, { meters: 2, sensors: 0 });
    sites.push(f.site.code);
    const gwB = await createAsset(api, f.site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-B', config: gatewayConfig('10.20.0.11', 'gw-b') });
    const metersB = [
      await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'MB-1', parentId: gwB.id, port: 'rs485-1', config: meterConfig(1) }),
      await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'MB-2', parentId: gwB.id, port: 'rs485-1', config: meterConfig(2) }),
    ];
    const silent = [gwB, ...metersB].map((a) => a.id);
    const sim = await simulate(api, f.site.code, { offlineGatewayIds: [gwB.id] });
    try {
      const started = Date.now();
      const d = await deploy(api, { siteId: f.site.id, batchSize: 10, failureThreshold: 1, timeoutMs: 800 });
      const done = await settled(api, d.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
      expect(done.status).toBe('failed');
      expect(done.targets).toMatchObject({ total: 7, acked: 4, timed_out: 3 });
      for (const t of done.results) {
        if (silent.includes(t.assetId)) expect(t).toMatchObject({ status: 'timed_out', error: 'no acknowledgement within 800 ms' });
        else expect(t.status).toBe('acked');
      }
      for (const id of silent) expect((await getAsset(api, id)).deployedVersion).toBeNull();
      expect((await getAsset(api, f.meters[0].id)).deployedVersion).toBe(1);

      // GW-B comes back: the retained configuration is waiting for it; it applies and acknowledges.
      await sim.setOnline(gwB.id, true);
      for (const id of silent) {
        await waitFor(`late ack of ${id} to be recorded`, async () => ((await getAsset(api, id)).deployedVersion === 1 ? true : undefined));
      }
      const after = await settled(api, d.id);
      expect(after.status).toBe('failed');
      for (const t of after.results.filter((r) => silent.includes(r.assetId))) {
        expect(t.status).toBe('timed_out');
        expect(t.error).toMatch(/acknowledged late/);
      }
    } finally {
      await sim.stop();
    }
  });
});
