import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfig } from '../api/helpers.ts';
import { createUser, newEmail, startAdminHarness, type AdminHarness, type Reply } from './harness.ts';

let h: AdminHarness;
/** Org B, made by the platform admin, with its own admin. */
let orgB: { id: string; adminJwt: string; adminId: string };
/** A user and a token of the platform organisation (org A). */
let userA: { id: string; etag: string };
let tokenA: { id: string; etag: string };

beforeAll(async () => {
  h = await startAdminHarness();
  const platformJwt = await h.login(h.admin.email, h.admin.password);
  const email = newEmail('b-admin');
  const res = await h.call<{ id: string; admin: { id: string; initialPassword: string } }>('POST', '/v1/orgs', {
    token: platformJwt,
    body: { name: 'Tenant B', admin: { email, name: 'B admin' } },
  });
  expect(res.status).toBe(201);
  orgB = { id: res.body.id, adminId: res.body.admin.id, adminJwt: await h.login(email, res.body.admin.initialPassword) };
  userA = await createUser(h, [{ role: 'viewer' }]);
  const t = await h.call<{ id: string }>('POST', '/v1/tokens', { token: platformJwt, body: { name: 'A token' } });
  tokenA = { id: t.body.id, etag: String(t.headers.etag) };
});
afterAll(() => h?.close());

/** The two answers with the ids that differ on purpose made equal. */
function sameAnswer(a: Reply, b: Reply, ids: [string, string]) {
  const norm = (r: Reply) => JSON.parse(JSON.stringify({ status: r.status, body: { ...r.body, requestId: undefined, instance: undefined } }).replaceAll(ids[0], 'ID').replaceAll(ids[1], 'ID'));
  expect(norm(a)).toEqual(norm(b));
}

describe('tenant isolation', () => {
  it("answers 404 for another organisation's user, exactly like for a user that does not exist", async () => {
    const missing = randomUUID();
    for (const [method, suffix, headers, body] of [
      ['GET', '', {}, undefined],
      ['GET', '/roles', {}, undefined],
      ['PATCH', '', { 'if-match': userA.etag }, { name: 'hijacked' }],
      ['PUT', '/roles', { 'if-match': userA.etag }, { items: [{ role: 'admin' }] }],
      ['DELETE', '', { 'if-match': userA.etag }, undefined],
    ] as const) {
      const theirs = await h.call('' + method, `/v1/users/${userA.id}${suffix}`, { token: orgB.adminJwt, headers, body });
      const none = await h.call('' + method, `/v1/users/${missing}${suffix}`, { token: orgB.adminJwt, headers: { ...headers, ...('if-match' in headers ? { 'if-match': `"user-${missing}-v1"` } : {}) }, body });
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      sameAnswer(theirs, none, [userA.id, missing]);
    }
    const still = await h.call('GET', `/v1/users/${userA.id}`);
    expect(still.body).toMatchObject({ name: expect.not.stringContaining('hijacked'), disabled: false });
  });

  it("answers 404 for another organisation's token, exactly like for a missing one", async () => {
    const missing = 'token:000000000000';
    const theirs = await h.call('GET', `/v1/tokens/${tokenA.id}`, { token: orgB.adminJwt });
    const none = await h.call('GET', `/v1/tokens/${missing}`, { token: orgB.adminJwt });
    expect(theirs.status).toBe(404);
    sameAnswer(theirs, none, [tokenA.id, missing]);
    const revoke = await h.call('DELETE', `/v1/tokens/${tokenA.id}`, { token: orgB.adminJwt, headers: { 'if-match': tokenA.etag } });
    expect(revoke.status).toBe(404);
  });

  it("lists only the caller's organisation's users and tokens", async () => {
    const users = await h.call<{ items: Array<{ orgId: string }> }>('GET', '/v1/users', { token: orgB.adminJwt });
    expect(users.body.items.map((u) => u.orgId)).toEqual([orgB.id]);
    const tokens = await h.call<{ items: unknown[] }>('GET', `/v1/tokens?userId=${h.admin.userId}`, { token: orgB.adminJwt });
    expect(tokens.body.items).toEqual([]);
  });

  it('shows an organisation admin only their own organisation; the platform admin sees all', async () => {
    const own = await h.call<{ items: Array<{ id: string }> }>('GET', '/v1/orgs', { token: orgB.adminJwt });
    expect(own.body.items.map((o) => o.id)).toEqual([orgB.id]);
    expect((await h.call('GET', `/v1/orgs/${h.admin.orgId}`, { token: orgB.adminJwt })).status).toBe(404);
    const all = await h.call<{ items: Array<{ id: string; platform: boolean }> }>('GET', '/v1/orgs');
    expect(all.body.items.map((o) => o.id).sort()).toEqual([h.admin.orgId, orgB.id].sort());
    expect(all.body.items.find((o) => o.id === h.admin.orgId)?.platform).toBe(true);
  });

  it('lets only platform admins create organisations', async () => {
    const res = await h.call('POST', '/v1/orgs', { token: orgB.adminJwt, body: { name: 'Sneaky' } });
    expect(res).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it("does not let the platform admin read another organisation's users", async () => {
    expect((await h.call('GET', `/v1/users/${orgB.adminId}`)).status).toBe(404);
  });

  it('lets an organisation admin rename their organisation with If-Match, and audits it in their chain', async () => {
    const org = await h.call('GET', `/v1/orgs/${orgB.id}`, { token: orgB.adminJwt });
    const renamed = await h.call('PATCH', `/v1/orgs/${orgB.id}`, { token: orgB.adminJwt, body: { name: 'Tenant B GmbH' }, headers: { 'if-match': String(org.headers.etag) } });
    expect(renamed).toMatchObject({ status: 200, body: { name: 'Tenant B GmbH', version: 2 } });
    const stale = await h.call('PATCH', `/v1/orgs/${orgB.id}`, { token: orgB.adminJwt, body: { name: 'Again' }, headers: { 'if-match': String(org.headers.etag) } });
    expect(stale).toMatchObject({ status: 412, body: { code: 'PRECONDITION_FAILED' } });
    const events = await h.auditOf({ scope: `org:${orgB.id}` });
    expect(events.map((e) => [e.entityType, e.action])).toEqual([
      ['org', 'create'],
      ['user', 'create'],
      ['user', 'login'],
      ['org', 'update'],
    ]);
  });

  it("gives a new organisation's users nothing in other organisations", async () => {
    const viewer = await createUser(h, [{ role: 'viewer' }], { token: orgB.adminJwt });
    const me = await h.call<{ bindings: Array<{ orgId: string }> }>('GET', '/v1/auth/me', { token: await h.login(viewer.email, viewer.password) });
    expect(me.body.bindings.map((b) => b.orgId)).toEqual([orgB.id]);
  });

  it("refuses a serial another organisation's device holds without naming that device", async () => {
    const serial = `SN-${randomUUID().slice(0, 8)}`;
    const device = { serial, modelId: 'voltis-em-110', firmware: '1.0.0' };
    const ours = await h.call<{ id: string }>('POST', '/v1/devices', { body: device });
    expect(ours.status).toBe(201);
    const theirs = await h.call<{ code: string; violations: Array<{ code: string; message: string }> }>('POST', '/v1/devices', { token: orgB.adminJwt, body: device });
    expect(theirs.status).toBe(409);
    expect(theirs.body.violations).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', message: expect.stringContaining('a device of another organisation') })]);
    expect(JSON.stringify(theirs.body)).not.toContain(ours.body.id);
    const again = await h.call<{ violations: Array<{ message: string }> }>('POST', '/v1/devices', { body: device });
    expect(again.body.violations[0].message).toContain(`device ${ours.body.id}`);
  });

  it("refuses an asset's serial that another organisation's asset holds without naming that asset", async () => {
    const serial = `GW-${randomUUID().slice(0, 8).toUpperCase()}`;
    const site = async (token: string | undefined, code: string) => {
      const res = await h.call<{ id: string }>('POST', '/v1/sites', { token, body: { code, name: code, timezone: 'UTC', network: { subnet: '10.20.0.0/24', router: '10.20.0.1' } } });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const gateway = (siteId: string) => ({ siteId, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW', serial, config: gatewayConfig('10.20.0.10', 'gw') });
    const theirSite = await site(orgB.adminJwt, `B-${serial}`);
    const theirs = await h.call<{ id: string }>('POST', '/v1/assets', { token: orgB.adminJwt, body: gateway(theirSite) });
    expect(theirs.status).toBe(201);
    const res = await h.call<{ violations: Array<{ code: string; message: string; assetIds: string[] }> }>('POST', '/v1/assets', { body: gateway(await site(undefined, `A-${serial}`)) });
    expect(res.status).toBe(409);
    expect(res.body.violations).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', message: expect.stringContaining('a device of another organisation') })]);
    expect(res.body.violations[0].assetIds).toHaveLength(1);
    expect(JSON.stringify(res.body)).not.toContain(theirs.body.id);
  });
});
