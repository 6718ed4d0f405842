import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_ID } from '../../src/server.ts';
import { startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness();
});
afterAll(() => h?.close());

describe('what buildServer offers tests and in-process wiring', () => {
  it('makes the bootstrap organisation the default organisation of sites', () => {
    expect(h.admin.orgId).toBe(DEFAULT_ORG_ID);
  });

  it("accepts the bootstrapToken with full rights on the bootstrap organisation, recorded under the token's id", async () => {
    const me = await h.call('GET', '/v1/auth/me');
    expect(me.body).toMatchObject({ kind: 'token', orgId: DEFAULT_ORG_ID, bindings: [{ orgId: DEFAULT_ORG_ID, siteId: null, role: 'admin' }], onBehalfOf: { id: h.admin.userId } });
    expect(me.body.id).toMatch(/^token:[0-9a-f]{12}$/);
  });

  it('mints tokens for fresh users with given bindings, in any organisation', async () => {
    const site = randomUUID();
    const own = await h.server.tokenFor([{ role: 'engineer', siteId: site }, { role: 'viewer' }]);
    expect((await h.call('GET', '/v1/auth/me', { token: own })).body).toMatchObject({
      kind: 'user',
      orgId: DEFAULT_ORG_ID,
      bindings: [
        { orgId: DEFAULT_ORG_ID, siteId: null, role: 'viewer' },
        { orgId: DEFAULT_ORG_ID, siteId: site, role: 'engineer' },
      ],
    });
    const orgB = randomUUID();
    const other = await h.server.tokenFor([{ role: 'admin' }], { orgId: orgB, name: 'B admin' });
    expect((await h.call('GET', '/v1/auth/me', { token: other })).body).toMatchObject({ name: 'B admin', orgId: orgB, bindings: [{ orgId: orgB, role: 'admin' }] });
    expect((await h.call('GET', `/v1/orgs/${orgB}`, { token: other })).status).toBe(200);
  });

  it('mints service tokens for in-process calls', async () => {
    const source = await h.server.admin.serviceTokenSource('lifecycle');
    expect((await h.call('GET', '/v1/auth/me', { token: source.get() })).body).toMatchObject({ kind: 'service', id: 'lifecycle' });
    expect((await h.call('GET', '/v1/internal/events/admin?limit=1', { token: await h.server.admin.serviceToken('config') })).status).toBe(200);
  });
});
