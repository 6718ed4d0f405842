import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, newEmail, startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness({ auth: { lockout: { maxFailures: 5, lockSeconds: 2 } } });
});
afterAll(() => h?.close());

const login = (email: string, password: string, ip?: string) => h.call('POST', '/v1/auth/login', { token: null, body: { email, password }, ip });

describe('login', () => {
  it('gives the bootstrap admin an access token and a refresh token that work', async () => {
    const res = await login(h.admin.email, h.admin.password);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(res.headers['cache-control']).toBe('no-store');
    const me = await h.call('GET', '/v1/auth/me', { token: String(res.body.accessToken) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      kind: 'user',
      id: h.admin.userId,
      orgId: h.admin.orgId,
      bindings: [{ orgId: h.admin.orgId, siteId: null, role: 'admin' }],
      user: { email: h.admin.email, disabled: false },
    });
  });

  it('accepts the email in any case and with stray spaces', async () => {
    expect((await login(`  ${h.admin.email.toUpperCase()} `, h.admin.password)).status).toBe(200);
  });

  it('audits a successful login on the organisation chain, without the password', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    await h.login(user.email, user.password);
    const [event] = await h.auditOf({ entityId: user.id, action: 'login' });
    expect(event).toMatchObject({ scope: `org:${h.admin.orgId}`, service: 'admin', outcome: 'applied', actor: { type: 'user', id: user.id }, sourceIp: '127.0.0.1' });
    expect(JSON.stringify(event)).not.toContain(user.password);
  });

  it('refuses a wrong password with 401 INVALID_CREDENTIALS and audits the denial', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const res = await login(user.email, 'not-the-password');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'INVALID_CREDENTIALS', detail: 'The email or the password is wrong.' });
    const [event] = await h.auditOf({ entityId: user.id, action: 'login' });
    expect(event).toMatchObject({ scope: `org:${h.admin.orgId}`, outcome: 'denied', comment: 'wrong password' });
    expect(JSON.stringify(event)).not.toContain('not-the-password');
  });

  it('answers an unknown email exactly like a wrong password, in similar time, and audits it on the global chain', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const unknown = newEmail('nobody');
    const timed = async (email: string) => {
      const start = performance.now();
      const res = await login(email, 'some-wrong-password');
      return { res, ms: performance.now() - start };
    };
    await timed(newEmail('warm-up'));
    const known = [await timed(user.email), await timed(user.email)];
    const missing = [await timed(unknown), await timed(unknown)];
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(missing[0].res.status).toBe(401);
    expect(strip(missing[0].res.body)).toEqual(strip(known[0].res.body));
    const median = (xs: Array<{ ms: number }>) => Math.min(...xs.map((x) => x.ms));
    expect(median(missing)).toBeGreaterThan(median(known) / 3); // an Argon2id verification each time, not a fast path
    const [event] = await h.auditOf({ entityId: unknown, action: 'login' });
    expect(event).toMatchObject({ scope: 'auth:global', orgId: null, outcome: 'denied', comment: 'unknown account', actor: { id: 'unknown', name: unknown } });
  });

  it('refuses a disabled account like a wrong password', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const patch = await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': user.etag } });
    expect(patch.status).toBe(200);
    const res = await login(user.email, user.password);
    expect(res).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } });
    expect((await h.auditOf({ entityId: user.id, action: 'login' }))[0]).toMatchObject({ outcome: 'denied', comment: 'account disabled' });
  });
});

describe('lockout', () => {
  it('locks an account after 5 failures in a row, even for the right password, then lets it in after the lock', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    for (let i = 0; i < 5; i++) expect((await login(user.email, `wrong-${i}`)).status).toBe(401);
    const locked = await login(user.email, user.password);
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({ code: 'ACCOUNT_LOCKED' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const events = await h.auditOf({ entityId: user.id, action: 'login' });
    expect(events.map((e) => e.comment)).toEqual([...Array(5).fill('wrong password'), 'account locked']);

    await sleep(2100);
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('locks an unknown email the same way, so a lockout does not reveal which accounts exist', async () => {
    const unknown = newEmail('ghost');
    for (let i = 0; i < 5; i++) expect((await login(unknown, `wrong-${i}`)).status).toBe(401);
    expect((await login(unknown, 'anything-at-all')).body).toMatchObject({ code: 'ACCOUNT_LOCKED' });
  });

  it('forgets earlier failures after a successful login', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    for (let i = 0; i < 4; i++) await login(user.email, 'wrong');
    expect((await login(user.email, user.password)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(user.email, 'wrong')).status).toBe(401);
    expect((await login(user.email, user.password)).status).toBe(200);
  });
});

describe('refresh', () => {
  it('trades a refresh token once for a new pair; replaying a used one ends every session of the user', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const first = await login(user.email, user.password);
    const refresh = (refreshToken: unknown) => h.call<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/refresh', { token: null, body: { refreshToken } });
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
    expect((await h.call('GET', '/v1/auth/me', { token: second.body.accessToken })).body).toMatchObject({ id: user.id });

    const replay = await refresh(first.body.refreshToken);
    expect(replay).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect((await refresh(second.body.refreshToken)).status).toBe(401); // revoked with the replay
  });

  it('refuses the refresh token of a disabled user', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const pair = await login(user.email, user.password);
    await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': user.etag } });
    expect((await h.call('POST', '/v1/auth/refresh', { token: null, body: { refreshToken: pair.body.refreshToken } })).status).toBe(401);
  });
});

describe('rate limits', () => {
  let limited: AdminHarness;
  beforeAll(async () => {
    limited = await startAdminHarness({ auth: { loginRateLimit: { perIp: { max: 4, timeWindow: 60_000 }, perAccount: { max: 2, timeWindow: 60_000 } } } });
  });
  afterAll(() => limited?.close());
  const attempt = (email: string, ip: string) => limited.call('POST', '/v1/auth/login', { token: null, body: { email, password: 'wrong-password' }, ip });

  it('limits login attempts per account across client addresses', async () => {
    const email = newEmail('target');
    expect((await attempt(email, '10.0.0.1')).status).toBe(401);
    expect((await attempt(email, '10.0.0.2')).status).toBe(401);
    const third = await attempt(email, '10.0.0.3');
    expect(third).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    expect(third.headers['retry-after']).toBeDefined();
    expect((await attempt(newEmail('other'), '10.0.0.3')).status).toBe(401);
  });

  it('limits login attempts per client address across accounts', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt(newEmail(`spray${i}`), '10.9.9.9')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    expect((await attempt(newEmail('elsewhere'), '10.9.9.8')).status).toBe(401);
  });
});
