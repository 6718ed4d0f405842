import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { AckPayload } from '../../src/mqtt/topics.ts';
import type { Server } from '../../src/server.ts';
import { type Api, buildSite, getAsset, type Page } from '../api/helpers.ts';
import { clearRetained, deploy, type Deployment, getDeployment, restartMosquitto, settled, simulate, startRema, waitFor } from './deployments-fixture.ts';

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

/**
 * The invariant that must survive every restart: an asset is recorded as deployed exactly
 * when its target was acknowledged (`applied`) by the gateway for that deployment and version.
 */
async function expectDeployedOnlyWithAck(api: Api, d: Deployment, acks: AckPayload[]) {
  for (const t of d.results) {
    const asset = await getAsset(api, t.assetId);
    const acked = acks.some((a) => a.deploymentId === d.id && a.assetId === t.assetId && a.version === t.configVersion && a.status === 'applied');
    if (t.status === 'acked') expect(acked).toBe(true);
    if (asset.deployedVersion !== null) expect(acked).toBe(true);
    if (t.status === 'acked') expect(asset.deployedVersion).toBe(t.configVersion);
  }
}

const stepsOf = async (api: Api, siteId: string, id: string) =>
  (await api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${siteId}&entityId=${id}&limit=100`)).body.items.map((e) => e.action).reverse();

describe('a broker restart in the middle of a deployment', () => {
  it('is ridden out: rema and the gateways reconnect, what was unanswered is sent again, the deployment ends and nothing is deployed without an ack', async () => {
    const f = await buildSite(api, { meters: 4, sensors: 0 });
    sites.push(f.site.code);
    const sim = await simulate(api, f.site.code, { latencyMs: 300 });
    try {
      // A target's timeout well beyond the broker's restart and both sides' reconnects, also
      // with the whole suite running beside it: the claim is that nothing is lost, not a speed.
      const d = await deploy(api, { siteId: f.site.id, batchSize: 2, failureThreshold: 1, timeoutMs: 15_000 });
      await waitFor('the first batch to be sent', async () => ((await getDeployment(api, d.id)).currentBatch >= 1 ? true : undefined));

      const { downMs } = await restartMosquitto();
      expect(downMs).toBeLessThan(10_000);
      await waitFor('rema to reconnect', async () => ((await api('GET', '/readyz')).status === 200 ? true : undefined));

      const done = await settled(api, d.id, 30_000);
      expect(done.status).toBe('succeeded');
      expect(done.targets.acked).toBe(6);
      await expectDeployedOnlyWithAck(api, done, sim.acks());
      expect(await stepsOf(api, f.site.id, d.id)).toEqual(['create', ...Array(3).fill(['start-batch', 'finish-batch']).flat(), 'finish']);
    } finally {
      await sim.stop();
    }
  });
});

describe('a service restart in the middle of a deployment', () => {
  it('is resumed from PostgreSQL by the new instance once the old claim lapses: unanswered configuration is sent again and acknowledged, each step audited once', async () => {
    const f = await buildSite(api, { meters: 4, sensors: 0 });
    sites.push(f.site.code);
    const sim = await simulate(api, f.site.code, { latencyMs: 400 });
    let second: { server: Server; api: Api } | undefined;
    try {
      const d = await deploy(api, { siteId: f.site.id, batchSize: 2, failureThreshold: 1, timeoutMs: 8000 });
      await waitFor('the first batch to be sent', async () => ((await getDeployment(api, d.id)).currentBatch >= 1 ? true : undefined));
      await server.close();
      // As if it had crashed instead: its claim on the deployment stays until the lease runs out.
      await db.pool.query(`UPDATE lifecycle.deployments SET runner_id = 'crashed-instance', runner_seen_at = now() WHERE id = $1`, [d.id]);
      // The gateways answer while no rema listens: those acks are lost.
      await sleep(600);
      const { rows } = await db.pool.query(`SELECT status FROM lifecycle.deployments WHERE id = $1`, [d.id]);
      expect(rows[0].status).toBe('running');
      expect(sim.acks().filter((a) => a.deploymentId === d.id).length).toBeGreaterThan(0);

      second = await startRema(db.url, { migrate: false });
      const done = await settled(second.api, d.id, 30_000);
      expect(done.status).toBe('succeeded');
      expect(done.targets.acked).toBe(6);
      await expectDeployedOnlyWithAck(second.api, done, sim.acks());
      expect(await stepsOf(second.api, f.site.id, d.id)).toEqual(['create', ...Array(3).fill(['start-batch', 'finish-batch']).flat(), 'finish']);
      expect((await second.api<{ ok: boolean }>('GET', `/v1/audit/verify?siteId=${f.site.id}`)).body.ok).toBe(true);
      const owner = await db.pool.query(`SELECT runner_id FROM lifecycle.deployments WHERE id = $1`, [d.id]);
      expect(owner.rows[0].runner_id).not.toBe('crashed-instance');
    } finally {
      await sim.stop();
      // Later tests (and afterAll) use the instance that is still up.
      if (second) ({ server, api } = second);
    }
  });
});

describe('several instances on one database', () => {
  it('share the work: each deployment is stepped by one instance at a time, no batch starts twice', async () => {
    const other = await startRema(db.url, { migrate: false });
    try {
      const f = await buildSite(api, { meters: 3, sensors: 0 });
      sites.push(f.site.code);
      const sim = await simulate(api, f.site.code, { latencyMs: 10 });
      try {
        const ds = [await deploy(api, { siteId: f.site.id, batchSize: 1, timeoutMs: 5000 }), await deploy(other.api, { siteId: f.site.id, batchSize: 2, timeoutMs: 5000 })];
        // The second supersedes what the first had not yet delivered.
        const [first, second] = [await settled(api, ds[0].id), await settled(other.api, ds[1].id)];
        expect(second.status).toBe('succeeded');
        expect(['succeeded', 'cancelled']).toContain(first.status);
        for (const d of [first, second]) {
          const steps = await stepsOf(api, f.site.id, d.id);
          const starts = steps.filter((s) => s === 'start-batch').length;
          expect(steps.filter((s) => s === 'finish-batch').length).toBe(starts);
          expect(starts).toBeLessThanOrEqual(d.batches);
          expect(steps.filter((s) => s === 'create')).toHaveLength(1);
          expect(steps.filter((s) => s === 'finish' || s === 'abort')).toHaveLength(1);
        }
        await expectDeployedOnlyWithAck(api, second, sim.acks());
      } finally {
        await sim.stop();
      }
    } finally {
      await other.server.close();
    }
  });
});
