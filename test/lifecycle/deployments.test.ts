import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { Problem } from '../../src/http/problem.ts';
import type { Server } from '../../src/server.ts';
import { type Api, type Asset, buildSite, createAsset, etagOf, getAsset, meterConfig, type Page } from '../api/helpers.ts';
import { clearRetained, deploy, type Deployment, getDeployment, settled, simulate, startRema, waitFor } from './deployments-fixture.ts';

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

const newSite = async (opts: { meters?: number; sensors?: number } = {}) => {
  const f = await buildSite(api, opts);
  sites.push(f.site.code);
  return f;
};

interface DriftBody {
  summary: { assets: number; inSync: number; drifted: number; notReported: number };
  assets: Array<{ assetId: string; desired: { version: number; hash: string }; deployed: { version: number } | null; reported: { version: number; hash: string } | null; drift: boolean }>;
}

describe('a deployment to a simulated site', () => {
  it('reaches every device, records every acknowledged version as deployed, and every device reports its desired configuration', async () => {
    const f = await newSite({ meters: 3, sensors: 2 });
    const sim = await simulate(api, f.site.code);
    try {
      const d = await deploy(api, { siteId: f.site.id, batchSize: 3, timeoutMs: 5000, comment: 'commissioning' });
      expect(d).toMatchObject({ status: 'running', batches: 3, siteId: f.site.id, comment: 'commissioning', targets: { total: 7 } });

      const done = await settled(api, d.id);
      expect(done.status).toBe('succeeded');
      expect(done.results.map((t) => t.status)).toEqual(Array(7).fill('acked'));
      expect(done.results.find((t) => t.assetId === f.gateway.id)).toMatchObject({ gatewayId: f.gateway.id, batch: 1 });
      expect(done.results.every((t) => t.gatewayId === f.gateway.id)).toBe(true);

      const assets = [f.gateway, ...f.meters, f.controller, ...f.sensors];
      for (const a of assets) expect((await getAsset(api, a.id)).deployedVersion).toBe(a.configVersion);
      expect(sim.acks().filter((a) => a.status === 'applied' && a.deploymentId === d.id).map((a) => a.assetId).sort()).toEqual(assets.map((a) => a.id).sort());

      const drift = await waitFor('every device to report', async () => {
        const res = await api<DriftBody>('GET', `/v1/sites/${f.site.id}/drift`);
        return res.body.summary.inSync === 7 ? res.body : undefined;
      });
      expect(drift.summary).toEqual({ assets: 7, inSync: 7, drifted: 0, notReported: 0 });
      for (const a of drift.assets) {
        expect(a.reported?.hash).toBe(a.desired.hash);
        expect(a.deployed?.version).toBe(a.desired.version);
      }
    } finally {
      await sim.stop();
    }
  });

  it('audits every step in the site chain: created, each batch started and finished, finished', async () => {
    const f = await newSite({ meters: 1, sensors: 1 });
    const sim = await simulate(api, f.site.code);
    try {
      const d = await deploy(api, { siteId: f.site.id, batchSize: 2 });
      await settled(api, d.id);
      const res = await api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site.id}&entityType=deployment&limit=100`);
      const steps = res.body.items.map((e) => e.action).reverse();
      expect(steps).toEqual(['create', 'start-batch', 'finish-batch', 'start-batch', 'finish-batch', 'finish']);
      for (const e of res.body.items) expect(e).toMatchObject({ service: 'lifecycle', scope: `site:${f.site.id}`, entityId: d.id, outcome: 'applied' });
      expect(res.body.items[0].after).toMatchObject({ status: 'succeeded' });
      expect(res.body.items[0].actor).toMatchObject({ type: 'system', onBehalfOf: { type: 'token' } });
    } finally {
      await sim.stop();
    }
  });

  it('lists deployments newest first, filtered by site and status, a page at a time', async () => {
    const f = await newSite({ meters: 1, sensors: 0 });
    const sim = await simulate(api, f.site.code);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await settled(api, (await deploy(api, { siteId: f.site.id, assetIds: [f.meters[0].id] })).id)).id);
      const first = await api<Page<Deployment>>('GET', `/v1/deployments?siteId=${f.site.id}&status=succeeded&limit=2`);
      expect(first.body.items.map((d) => d.id)).toEqual([ids[2], ids[1]]);
      const second = await api<Page<Deployment>>('GET', `/v1/deployments?siteId=${f.site.id}&status=succeeded&limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
      expect((await api<Page<Deployment>>('GET', `/v1/deployments?siteId=${f.site.id}&status=aborted`)).body.items).toEqual([]);
      for (const at of ['nope', '2026-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z']) {
        const cursor = Buffer.from(JSON.stringify({ at, id: ids[0] })).toString('base64url');
        expect((await api<Problem>('GET', `/v1/deployments?cursor=${cursor}`)).body.code).toBe('INVALID_CURSOR');
      }
    } finally {
      await sim.stop();
    }
  });
});

describe('refused deployments', () => {
  it('answer 404 for an unknown site or deployment and 422 naming assets that cannot be deployed', async () => {
    const f = await newSite({ meters: 1, sensors: 0 });
    const other = await newSite({ meters: 1, sensors: 0 });
    const unknown = await api<Problem>('POST', '/v1/deployments', { siteId: '00000000-0000-4000-8000-00000000dead' });
    expect(unknown.status).toBe(404);
    expect((await api<Problem>('GET', '/v1/deployments/00000000-0000-4000-8000-00000000dead')).status).toBe(404);
    const foreign = await api<Problem>('POST', '/v1/deployments', { siteId: f.site.id, assetIds: [f.meters[0].id, other.meters[0].id] });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toEqual([{ in: 'body', path: '/assetIds/1', message: `asset ${other.meters[0].id} is not in site ${f.site.code}` }]);
    const bad = await api<Problem>('POST', '/v1/deployments', { siteId: f.site.id, batchSize: 0, failureThreshold: 2 });
    expect(bad.status).toBe(422);
    expect(bad.body.errors?.map((e) => e.path).sort()).toEqual(['/batchSize', '/failureThreshold']);
  });

  it('answer 503 with Retry-After while no broker is connected', async () => {
    const bare = await startRema(db.url, { mqtt: false, migrate: false });
    try {
      const f = await newSite({ meters: 1, sensors: 0 });
      const res = await bare.api<Problem>('POST', '/v1/deployments', { siteId: f.site.id });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await bare.server.close();
    }
  });
});

describe('who may deploy', () => {
  it('a viewer of the site reads deployments but may not start or cancel one; someone bound to another site does not see them', async () => {
    const f = await newSite({ meters: 1, sensors: 0 });
    const elsewhere = await newSite({ meters: 1, sensors: 0 });
    const sim = await simulate(api, f.site.code, { latencyMs: 60_000 });
    try {
      const d = await deploy(api, { siteId: f.site.id, timeoutMs: 60_000 });
      const as = (token: string) => (method: 'GET' | 'POST', url: string, body?: unknown) => server.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body as object } : {}) });
      const viewer = as(await server.tokenFor([{ role: 'viewer', siteId: f.site.id }]));
      expect((await viewer('GET', `/v1/deployments/${d.id}`)).statusCode).toBe(200);
      expect((await viewer('POST', '/v1/deployments', { siteId: f.site.id })).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      expect((await viewer('POST', `/v1/deployments/${d.id}/cancel`)).statusCode).toBe(403);

      const stranger = as(await server.tokenFor([{ role: 'operator', siteId: elsewhere.site.id }]));
      expect((await stranger('GET', `/v1/deployments/${d.id}`)).statusCode).toBe(404);
      expect((await stranger('GET', `/v1/sites/${f.site.id}/drift`)).statusCode).toBe(404);
      expect((await stranger('GET', `/v1/deployments?siteId=${f.site.id}`)).json()).toEqual({ items: [], nextCursor: null });

      const operator = as(await server.tokenFor([{ role: 'operator', siteId: f.site.id }]));
      expect((await operator('POST', `/v1/deployments/${d.id}/cancel`)).statusCode).toBe(200);
    } finally {
      await sim.stop();
    }
  });
});

describe('cancelling', () => {
  it('stops a running deployment: open targets are cancelled, nothing unacknowledged is marked deployed; a second cancel is refused', async () => {
    const f = await newSite({ meters: 3, sensors: 0 });
    const sim = await simulate(api, f.site.code, { latencyMs: 60_000 });
    try {
      const d = await deploy(api, { siteId: f.site.id, batchSize: 2, timeoutMs: 60_000 });
      await waitFor('the first batch to be sent', async () => ((await getDeployment(api, d.id)).targets.sent === 2 ? true : undefined));
      const res = await api<Deployment>('POST', `/v1/deployments/${d.id}/cancel`, { reason: 'wrong site' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'cancelled', reason: 'wrong site', targets: { cancelled: 5, acked: 0 } });
      for (const m of f.meters) expect((await getAsset(api, m.id)).deployedVersion).toBeNull();
      const again = await api<Problem>('POST', `/v1/deployments/${d.id}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.violations?.[0].code).toBe('DEPLOYMENT_NOT_RUNNING');
    } finally {
      await sim.stop();
    }
  });
});

describe('a unit id stays taken until the device that held it acknowledges its new configuration', () => {
  it("refuses meter A's old unit id to meter B while A's move is committed but not deployed, and accepts it once A's deployment is acknowledged", async () => {
    const f = await newSite({ meters: 0, sensors: 0 });
    const a0 = await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-A', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(5) });
    const b = await createAsset(api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-B', parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(7) });
    const sim = await simulate(api, f.site.code);
    try {
      expect((await settled(api, (await deploy(api, { siteId: f.site.id })).id)).status).toBe('succeeded');
      const a1 = await getAsset(api, a0.id);
      expect(a1.deployedVersion).toBe(1);

      const moved = await api<Asset>('PATCH', `/v1/assets/${a1.id}`, { config: { unitId: 6 } }, { 'if-match': etagOf('asset', a1) });
      expect(moved.body).toMatchObject({ configVersion: 2, deployedVersion: 1 });

      const takeFive = async () => {
        const current = await getAsset(api, b.id);
        return api<unknown>('PATCH', `/v1/assets/${b.id}`, { config: { unitId: 5 } }, { 'if-match': etagOf('asset', current) });
      };
      const refused = (await takeFive()) as { status: number; body: Problem };
      expect(refused.status).toBe(409);
      expect(refused.body.violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: [b.id, a1.id] })]);
      expect(refused.body.violations?.[0].message).toMatch(/M-A/);

      const d = await settled(api, (await deploy(api, { siteId: f.site.id, assetIds: [a1.id] })).id);
      expect(d.status).toBe('succeeded');
      expect((await getAsset(api, a1.id)).deployedVersion).toBe(2);
      const accepted = (await takeFive()) as { status: number; body: Asset };
      expect(accepted.status).toBe(200);
      expect(accepted.body.config.unitId).toBe(5);
    } finally {
      await sim.stop();
    }
  });
});

describe('Idempotency-Key on POST /v1/deployments', () => {
  it('marks the claim committed in the deployment\'s own transaction: a retry after an answer lost to a crash is told where the deployment is, and starts no second one', async () => {
    // Every state the key goes through, with the transaction that set it.
    await db.pool.query(`
      CREATE TABLE test_claim_states (seq serial, state text, xid text);
      CREATE FUNCTION test_claim_state() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO test_claim_states (state, xid) VALUES (NEW.state, (pg_current_xact_id()::text::bigint % 4294967296)::text);
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_claim_state AFTER INSERT OR UPDATE ON http.idempotency_keys FOR EACH ROW WHEN (NEW.key = 'deploy-lost') EXECUTE FUNCTION test_claim_state();
    `);
    const f = await newSite({ meters: 1 });
    const body = { siteId: f.site.id, comment: 'once only' };
    const first = await api<Deployment>('POST', '/v1/deployments', body, { 'idempotency-key': 'deploy-lost' });
    expect(first.status).toBe(201);
    const states = (await db.pool.query<{ state: string; xid: string }>(`SELECT state, xid FROM test_claim_states ORDER BY seq`)).rows;
    expect(states.map((s) => s.state)).toEqual(['pending', 'committed', 'done']);
    const written = await db.pool.query<{ xid: string }>(`SELECT xmin::text AS xid FROM lifecycle.deployments WHERE id = $1`, [first.body.id]);
    expect(states[1].xid).toBe(written.rows[0].xid);

    // As if the instance died between COMMIT and storing the answer.
    await db.pool.query(`UPDATE http.idempotency_keys SET state = 'committed', status = NULL, headers = NULL, body = NULL, created_at = now() - interval '61 seconds' WHERE key = 'deploy-lost'`);
    const late = await api<Problem & { location: string }>('POST', '/v1/deployments', body, { 'idempotency-key': 'deploy-lost' });
    expect([late.status, late.body.code, late.body.location]).toEqual([409, 'IDEMPOTENCY_KEY_COMMITTED', `/v1/deployments/${first.body.id}`]);
    expect(late.headers['content-location']).toBe(`/v1/deployments/${first.body.id}`);
    const all = await db.pool.query(`SELECT id FROM lifecycle.deployments WHERE site_id = $1`, [f.site.id]);
    expect(all.rows.map((r) => r.id)).toEqual([first.body.id]);
  });
});
