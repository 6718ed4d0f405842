import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness();
});
afterAll(() => h?.close());

describe('disabling a user', () => {
  it('stops their access JWT and their API tokens at the next request, and re-enabling brings the API tokens back', async () => {
    const user = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(user.email, user.password);
    const token = await h.call<{ secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'robot' } });
    expect((await h.call('GET', '/v1/auth/me', { token: jwt })).status).toBe(200);
    expect((await h.call('GET', '/v1/auth/me', { token: token.body.secret })).status).toBe(200);

    const disabled = await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': user.etag } });
    expect(disabled).toMatchObject({ status: 200, body: { disabled: true } });
    for (const bearer of [jwt, token.body.secret]) {
      const res = await h.call('GET', '/v1/auth/me', { token: bearer });
      expect(res).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    }
    const [event] = await h.auditOf({ entityId: user.id, action: 'disable' });
    expect(event).toMatchObject({ service: 'admin', outcome: 'applied', before: { disabled: false }, after: { disabled: true } });
    const { rows } = await h.db.pool.query(`SELECT topic, payload FROM admin.outbox WHERE key = $1 ORDER BY id`, [user.id]);
    expect(rows.map((r) => r.topic)).toEqual(['admin.user.created', 'admin.user.disabled']);
    expect(rows[1].payload).toMatchObject({ userId: user.id, orgId: h.admin.orgId, at: expect.any(Number) });

    const enabled = await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: false }, headers: { 'if-match': String(disabled.headers.etag) } });
    expect(enabled.status).toBe(200);
    expect((await h.call('GET', '/v1/auth/me', { token: token.body.secret })).status).toBe(200);
    expect((await h.auditOf({ entityId: user.id, action: 'enable' })).length).toBe(1);
  });
});
