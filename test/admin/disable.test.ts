import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
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

describe('re-enabling a user', () => {
  const me = (jwt: string) => h.call('GET', '/v1/auth/me', { token: jwt }).then((r) => r.status);
  const setDisabled = async (id: string, disabled: boolean, etag: string) => {
    const res = await h.call('PATCH', `/v1/users/${id}`, { body: { disabled }, headers: { 'if-match': etag } });
    expect(res.status).toBe(200);
    return String(res.headers.etag);
  };

  it('does not revive the access JWTs issued before the disable, also from the same second; a login after the enable works', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    while (Date.now() % 1000 > 100) await sleep(10); // early in a second: the steps below most likely share it
    const before = await h.login(user.email, user.password);
    const etag = await setDisabled(user.id, true, user.etag);
    expect(await me(before)).toBe(401);
    await setDisabled(user.id, false, etag);
    const after = await h.login(user.email, user.password);
    expect(await me(before)).toBe(401);
    expect(await me(after)).toBe(200);
    const { rows } = await h.db.pool.query(`SELECT payload FROM admin.outbox WHERE key = $1 AND topic IN ('admin.user.disabled', 'admin.user.enabled') ORDER BY id`, [user.id]);
    const [iatBefore, iatAfter] = [decodeJwt(before), decodeJwt(after)].map((c) => c.iat_ms as number);
    expect(iatBefore).toBeLessThanOrEqual(rows[0].payload.at);
    expect(iatAfter).toBeGreaterThan(rows[1].payload.at);
  });

  it('refuses a JWT issued at the very millisecond of the cut-off and accepts one issued a millisecond after, within the same second', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    let jwt = await h.login(user.email, user.password);
    while ((decodeJwt(jwt).iat_ms as number) % 1000 === 0) jwt = await h.login(user.email, user.password); // so issued - 1 ms is the same second
    const { iat, iat_ms: issued } = decodeJwt(jwt) as { iat: number; iat_ms: number };
    expect(Math.floor(issued / 1000)).toBe(iat);
    const cutOff = (ms: number) => h.db.pool.query(`UPDATE admin.users SET tokens_valid_after = $2 WHERE id = $1`, [user.id, new Date(ms)]);
    await cutOff(issued);
    await expect.poll(() => me(jwt)).toBe(401); // the change notifies the cache
    await cutOff(issued - 1);
    await expect.poll(() => me(jwt)).toBe(200);
  });

  it('refuses, once the user is enabled, a JWT that a login racing with the disable issued after its cut-off', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const raced = await h.login(user.email, user.password);
    // A disable whose cut-off precedes the JWT: the login read the user before the disable committed.
    const issued = decodeJwt(raced).iat_ms as number;
    await h.db.pool.query(`UPDATE admin.users SET disabled = true, tokens_valid_after = $2, version = version + 1 WHERE id = $1`, [user.id, new Date(issued - 1)]);
    const read = await h.call('GET', `/v1/users/${user.id}`);
    await setDisabled(user.id, false, String(read.headers.etag));
    expect(await me(raced)).toBe(401);
    expect(await me(await h.login(user.email, user.password))).toBe(200);
  });

  it('also keeps the earlier JWTs refused when the user is disabled and enabled by a statement by hand', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    await sleep(5);
    await h.db.pool.query(`UPDATE admin.users SET disabled = true WHERE id = $1`, [user.id]);
    await expect.poll(() => me(jwt)).toBe(401);
    await h.db.pool.query(`UPDATE admin.users SET disabled = false WHERE id = $1`, [user.id]);
    const after = await h.login(user.email, user.password);
    await expect.poll(() => me(after)).toBe(200);
    expect(await me(jwt)).toBe(401);
  });
});
