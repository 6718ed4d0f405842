/**
 * What the access tests share: two tenants on one rema, org A with two sites (site 1 fully
 * equipped: assets, cables, a change set, devices, a deployment, a user, an API token), org B
 * with an admin, and a token for every kind of caller — none, expired, revoked, each role,
 * bound org-wide or to one site.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { issueUserToken } from '../../src/admin/access-tokens.ts';
import type { RoleBinding } from '../../src/auth/principal.ts';
import type { DeviceViewData as Device } from '../../src/lifecycle/devices/device-view.ts';
import { insertDeployment } from '../../src/lifecycle/deployments/deployment-store.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { buildSite, createSite, expectStatus, startHarness, type Api, type Asset, type Connection, type Harness, type Site, type SiteFixture } from '../api/helpers.ts';

/** Every kind of caller the access tests send requests as. */
export const CALLERS = ['none', 'expired', 'revoked', 'adminA', 'viewer', 'viewer1', 'operator', 'engineer', 'auditor', 'auditor1', 'stranger', 'adminB', 'service'] as const;
export type Caller = (typeof CALLERS)[number];

export type { DeviceViewData as Device } from '../../src/lifecycle/devices/device-view.ts';

export interface AccessFixture {
  h: Harness;
  orgA: string;
  orgB: string;
  orgAEtag: string;
  /** Bearer tokens (null: none) of each caller. */
  tokens: Record<Caller, string | null>;
  /** Calls the API as `caller`. */
  as(caller: Caller): Api;
  site1: Site;
  site2: Site;
  /** Site 1's equipment. */
  equip: SiteFixture;
  /** Read again after every fixture write, so its ETag is current. */
  meter: Asset;
  cable: Connection;
  changesetId: string;
  /** In stock (organisation A, no site). */
  stockDevice: Device;
  /** Installed at the meter of site 1. */
  installedDevice: Device;
  deploymentId: string;
  /** The user adminA stands for. */
  adminAUser: { id: string; name: string };
  /** Another user of A (a viewer), with its ETag. */
  userA: { id: string; etag: string };
  /** An API token of adminA's user, with its ETag. */
  tokenA: { id: string; etag: string };
  /** Ids of site 1 and everything in it: nobody outside site 1's readers may see one in an answer. */
  site1Ids: string[];
  /** Ids of org A that are no site's (its id, users, tokens, the device in stock). */
  orgAIds: string[];
}

export const deviceTag = (d: { id: string; version: number }) => `"device-${d.id}-v${d.version}"`;
export const assetTag = (a: { id: string; version: number }) => `"asset-${a.id}-v${a.version}"`;

/**
 * Builds both tenants through the API (as org A's admin) and mints every caller's token.
 *
 * @example
 *   let f: AccessFixture;
 *   beforeAll(async () => { f = await buildAccessFixture(); });
 *   afterAll(() => f.h.close());
 */
export async function buildAccessFixture(): Promise<AccessFixture> {
  const h = await startHarness();
  const { server } = h;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = await server.tokenFor([{ role: 'admin' }], { orgId: orgA, name: 'A admin' });
  const apiA = h.apiAs(adminA);

  const equip = await buildSite(apiA, { meters: 2, sensors: 1 });
  const site1 = equip.site;
  const site2 = await createSite(apiA);
  expect(site1.orgId, 'site 1 belongs to its creator organisation').toBe(orgA);

  const register = async (serial: string) =>
    expectStatus(await apiA<Device>('POST', '/v1/devices', { serial, modelId: 'voltis-em-340', firmware: '1.0.0' }), 201, `register ${serial}`);
  const stockDevice = await register(`ACC-${randomUUID().slice(0, 8)}`);
  const toInstall = await register(`ACC-${randomUUID().slice(0, 8)}`);
  const installedDevice = expectStatus(
    await apiA<Device>('POST', `/v1/devices/${toInstall.id}/transitions`, { transition: 'install', assetId: equip.meters[0].id }, { 'if-match': deviceTag(toInstall) }),
    200,
    'install',
  );

  const meter1 = equip.meters[1];
  const cs = expectStatus(
    await apiA<{ changesetId: string }>('POST', `/v1/sites/${site1.id}/changesets`, { operations: [{ op: 'updateAsset', id: meter1.id, expectedVersion: meter1.version, patch: { name: 'M-2b' } }], comment: 'rename' }),
    201,
    'change set',
  );

  const me = expectStatus(await apiA<{ id: string; name: string }>('GET', '/v1/auth/me'), 200, 'me');
  const org = await apiA('GET', `/v1/orgs/${orgA}`);
  expectStatus(org, 200, 'org A');
  const orgAEtag = String(org.headers.etag);
  const deploymentId = randomUUID();
  await withTransaction(h.db.pool, (client) =>
    insertDeployment(
      client,
      { id: deploymentId, orgId: orgA, siteId: site1.id, batchSize: 10, failureThreshold: 0.1, timeoutMs: 30_000, actor: { type: 'user', id: me.id, name: me.name }, requestId: null, comment: 'fixture' },
      [],
    ),
  );

  const user = await apiA<{ id: string }>('POST', '/v1/users', { email: `viewer-${randomUUID().slice(0, 8)}@a.example`, name: 'A viewer', roles: [{ role: 'viewer' }] });
  const userA = { id: expectStatus(user, 201, 'user').id, etag: String(user.headers.etag) };
  const token = await apiA<{ id: string }>('POST', '/v1/tokens', { name: 'A pipeline' });
  const tokenA = { id: expectStatus(token, 201, 'token').id, etag: String(token.headers.etag) };

  const toRevoke = expectStatus(await apiA<{ id: string; secret: string }>('POST', '/v1/tokens', { name: 'revoked' }), 201, 'token to revoke');
  expectStatus(await h.apiAs(toRevoke.secret)('GET', '/v1/auth/me'), 200, 'the token works until it is revoked');
  const revokedEtag = String((await apiA('GET', `/v1/tokens/${toRevoke.id}`)).headers.etag);
  expectStatus(await apiA('DELETE', `/v1/tokens/${toRevoke.id}`, undefined, { 'if-match': revokedEtag }), 204, 'revoke');

  const adminBindings: RoleBinding[] = [{ orgId: orgA, siteId: null, role: 'admin' }];
  const mint = async (ttlSeconds: number) => (await issueUserToken(server.admin.signer, { id: me.id, name: me.name, orgId: orgA, roles: adminBindings }, ttlSeconds)).accessToken;
  expectStatus(await h.apiAs(await mint(60))('GET', '/v1/auth/me'), 200, 'the same claims, unexpired, are accepted');
  const expired = await mint(-60);

  const inA = (bindings: Array<{ role: RoleBinding['role']; siteId?: string }>, name: string) => server.tokenFor(bindings, { orgId: orgA, name });
  const tokens: Record<Caller, string | null> = {
    none: null,
    expired,
    revoked: toRevoke.secret,
    adminA,
    viewer: await inA([{ role: 'viewer' }], 'A viewer'),
    viewer1: await inA([{ role: 'viewer', siteId: site1.id }], 'site 1 viewer'),
    operator: await inA([{ role: 'operator' }], 'A operator'),
    engineer: await inA([{ role: 'engineer' }], 'A engineer'),
    auditor: await inA([{ role: 'auditor' }], 'A auditor'),
    auditor1: await inA([{ role: 'auditor', siteId: site1.id }], 'site 1 auditor'),
    stranger: await inA([{ role: 'admin', siteId: site2.id }], 'site 2 admin'),
    adminB: await server.tokenFor([{ role: 'admin' }], { orgId: orgB, name: 'B admin' }),
    service: await server.admin.serviceToken('lifecycle'),
  };

  const meter = expectStatus(await apiA<Asset>('GET', `/v1/assets/${equip.meters[0].id}`), 200, 'meter');
  const cable = expectStatus(await apiA<Connection>('GET', `/v1/connections/${equip.cables[0].id}`), 200, 'cable');
  const assets = [equip.gateway, ...equip.meters, equip.controller, ...equip.sensors];
  const site1Ids = [site1.id, ...assets.map((a) => a.id), ...equip.cables.map((c) => c.id), cs.changesetId, installedDevice.id, deploymentId];
  const orgAIds = [orgA, me.id, userA.id, tokenA.id, toRevoke.id, stockDevice.id];

  return {
    h,
    orgA,
    orgB,
    orgAEtag,
    tokens,
    as: (caller) => h.apiAs(tokens[caller]),
    site1,
    site2,
    equip,
    meter,
    cable,
    changesetId: cs.changesetId,
    stockDevice,
    installedDevice,
    deploymentId,
    adminAUser: me,
    userA,
    tokenA,
    site1Ids,
    orgAIds,
  };
}

/** The ids of `ids` that occur in `text`. */
export const leaked = (text: string, ids: readonly string[]) => ids.filter((id) => text.includes(id));
