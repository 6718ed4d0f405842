/**
 * Real resources of every kind on a running cluster, made through the API: a site with its
 * equipment and a change set, devices (one installed, one in stock), a finished deployment, a
 * user, an API token, the platform organisation — what the hostile and access runs start from.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostileFixture } from './hostile-input.ts';
import type { Graph } from './oracle.ts';
import type { Exchange, Recorder } from './recorder.ts';
import { createRaceSite, type Balancer } from './workload.ts';

export const PLATFORM_ORG = '00000000-0000-4000-8000-000000000001';
/** The bootstrap admin's password (`REMA_ADMIN_PASSWORD` of test/chaos/cluster.ts). */
export const ADMIN_PASSWORD = 'chaos-admin-password';

export interface ChaosFixture extends HostileFixture {
  graph: Graph;
  /** An access JWT of the platform organisation's first admin (tokens are created by users). */
  adminJwt: string;
}

/** Sends with full rights (or `token`) and fails loudly on anything but 2xx. */
export function okSender(rec: Recorder, balance: Balancer) {
  return async <T>(method: Exchange['method'], path: string, body?: unknown, headers: Record<string, string> = {}, token?: string | null): Promise<Exchange & { response?: T }> => {
    const ex = await rec.send<T>(balance(), 0, method, path, { body, headers, token });
    if (typeof ex.outcome !== 'number' || ex.outcome >= 300) throw new Error(`${method} ${path}: ${ex.outcome} ${ex.text ?? ex.error}`);
    return ex;
  };
}

export async function buildChaosFixture(rec: Recorder, balance: Balancer, code: string): Promise<ChaosFixture> {
  const ok = okSender(rec, balance);
  let graph = await createRaceSite(rec, balance(), code);
  const meter = graph.assets.find((a) => a.kind === 'meter') as Graph['assets'][number];
  const gateway = graph.assets.find((a) => a.kind === 'gateway') as Graph['assets'][number];
  const cable = graph.connections[0];
  const login = await ok<{ accessToken: string }>('POST', '/v1/auth/login', { email: 'admin@rema.local', password: ADMIN_PASSWORD }, {}, null);
  const adminJwt = (login.response as { accessToken: string }).accessToken;
  const user = await ok<{ id: string }>('POST', '/v1/users', { email: `target-${randomUUID().slice(0, 8)}@example.com`, name: 'Target user', roles: [{ role: 'viewer' }] });
  const token = await ok<{ id: string }>('POST', '/v1/tokens', { name: 'target token' }, {}, adminJwt);
  const register = async () => (await ok<{ id: string; version: number }>('POST', '/v1/devices', { serial: `CHAOS-${randomUUID().slice(0, 8)}`, modelId: 'voltis-em-340', firmware: '1.0.0' })).response as { id: string; version: number };
  const stock = await register();
  const toInstall = await register();
  const installed = (await ok<{ id: string; version: number }>('POST', `/v1/devices/${toInstall.id}/transitions`, { transition: 'install', assetId: meter.id }, { 'if-match': `"device-${toInstall.id}-v${toInstall.version}"` })).response as {
    id: string;
    version: number;
  };
  // A deployment no gateway answers: it times out and ends, so the runner leaves it alone afterwards.
  const deploymentId = ((await ok<{ id: string }>('POST', '/v1/deployments', { siteId: graph.site.id, assetIds: [meter.id], batchSize: 1, timeoutMs: 1000 })).response as { id: string }).id;
  for (let i = 0; i < 150; i++) {
    const d = await ok<{ status: string }>('GET', `/v1/deployments/${deploymentId}`);
    if ((d.response as { status: string }).status !== 'running') break;
    await sleep(200);
  }
  const org = await ok('GET', `/v1/orgs/${PLATFORM_ORG}`);
  const changesets = await ok<{ items: Array<{ id: string }> }>('GET', `/v1/sites/${graph.site.id}/changesets`);
  const auditPage = await ok<{ nextCursor: string }>('GET', '/v1/audit?limit=1');
  graph = (await ok<Graph>('GET', `/v1/sites/${graph.site.id}/graph`)).response as Graph;
  const fresh = graph.assets.find((a) => a.id === meter.id) as Graph['assets'][number];
  return {
    graph,
    adminJwt,
    orgId: PLATFORM_ORG,
    orgEtag: org.etag as string,
    siteId: graph.site.id,
    siteEtag: `"site-${graph.site.id}-v${graph.site.version}"`,
    meterId: meter.id,
    meterEtag: `"asset-${meter.id}-v${fresh.version}"`,
    meterConfig: fresh.config,
    gatewayId: gateway.id,
    cableId: cable.id,
    cableEtag: `"connection-${cable.id}-v${cable.version}"`,
    changesetId: (changesets.response as { items: Array<{ id: string }> }).items[0].id,
    deviceId: installed.id,
    deviceEtag: `"device-${installed.id}-v${installed.version}"`,
    stockDeviceId: stock.id,
    deploymentId,
    userId: (user.response as { id: string }).id,
    userEtag: user.etag as string,
    tokenId: (token.response as { id: string }).id,
    tokenEtag: token.etag as string,
    auditCursor: (auditPage.response as { nextCursor: string }).nextCursor,
  };
}
