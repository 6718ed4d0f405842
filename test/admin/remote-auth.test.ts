import Fastify from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../../src/auth/install-auth.ts';
import { createRemoteAuthenticator, type RemoteAuthenticator } from '../../src/auth/remote-authenticator.ts';
import { serviceTokenClient } from '../../src/auth/service-token-client.ts';
import { createUser, startAdminHarness, type AdminHarness } from './harness.ts';

const SECRET = 'shared-service-secret-for-tests';
let h: AdminHarness;
let adminUrl: string;
let remote: RemoteAuthenticator;
let serviceJwt: string;

beforeAll(async () => {
  h = await startAdminHarness({ auth: { serviceSecret: SECRET } });
  adminUrl = await h.server.app.listen({ port: 0, host: '127.0.0.1' });
  const token = serviceTokenClient({ adminUrl, service: 'config', secret: SECRET });
  serviceJwt = await token();
  remote = createRemoteAuthenticator({ adminUrl, serviceToken: token, pollIntervalMs: 100 });
});
afterAll(async () => {
  await remote?.close();
  await h?.close();
});

const ctx = { ip: '127.0.0.1' };

describe('service tokens', () => {
  it('are issued for the shared secret only; a wrong secret is refused and audited', async () => {
    const wrong = await h.call('POST', '/v1/auth/service-token', { token: null, body: { service: 'lifecycle', secret: 'guess' } });
    expect(wrong).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } });
    expect((await h.auditOf({ scope: 'auth:global', action: 'service-token' }))[0]).toMatchObject({ outcome: 'denied', entityId: 'lifecycle' });
    const me = await h.call('GET', '/v1/auth/me', { token: serviceJwt });
    expect(me.body).toMatchObject({ kind: 'service', id: 'config', orgId: null, bindings: [] });
  });

  it('alone may introspect tokens and read the event feed', async () => {
    const userJwt = await h.login(h.admin.email, h.admin.password);
    expect((await h.call('POST', '/v1/auth/introspect', { token: userJwt, body: { token: userJwt } })).status).toBe(403);
    expect((await h.call('GET', '/v1/internal/events/admin', { token: userJwt })).status).toBe(403);
    expect((await h.call('GET', '/v1/internal/events/admin')).status).toBe(403); // the operator's API token neither
    const active = await h.call('POST', '/v1/auth/introspect', { token: serviceJwt, body: { token: 'admin-test-operator-token' } });
    expect(active.body).toMatchObject({ active: true, principal: { kind: 'token', orgId: h.admin.orgId, bindings: [{ role: 'admin' }] } });
    expect((await h.call('POST', '/v1/auth/introspect', { token: serviceJwt, body: { token: 'rema_nope' } })).body).toEqual({ active: false });
    const feed = await h.call<{ items: Array<{ id: number; topic: string }>; nextAfter: number }>('GET', '/v1/internal/events/admin?after=0&limit=1', { token: serviceJwt });
    expect(feed.body.items).toMatchObject([{ topic: 'admin.org.created' }]);
    expect(feed.body.nextAfter).toBe(feed.body.items[0].id);
  });

  it('may act on behalf of a user, who becomes onBehalfOf of the actor; nobody else may', async () => {
    const onBehalf = { 'x-rema-on-behalf-of': JSON.stringify({ id: h.admin.userId, name: 'Administrator' }) };
    const me = await h.call('GET', '/v1/auth/me', { token: serviceJwt, headers: onBehalf });
    expect(me.body).toMatchObject({ kind: 'service', onBehalfOf: { id: h.admin.userId, name: 'Administrator' } });
    expect((await h.call('GET', '/v1/auth/me', { headers: onBehalf })).status).toBe(403); // an API token may not
    const bad = await h.call('GET', '/v1/auth/me', { token: serviceJwt, headers: { 'x-rema-on-behalf-of': 'not json' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  });
});

describe('the remote authenticator (a service in another process)', () => {
  it("verifies a user's JWT against the admin's JWKS, with the bindings it carries", async () => {
    const user = await createUser(h, [{ role: 'operator' }]);
    const jwt = await h.login(user.email, user.password);
    expect(await remote.authenticate(jwt, ctx)).toEqual({ kind: 'user', id: user.id, name: `User ${user.email}`, orgId: h.admin.orgId, bindings: [{ orgId: h.admin.orgId, siteId: null, role: 'operator' }] });
    expect(await remote.authenticate(serviceJwt, ctx)).toMatchObject({ kind: 'service', id: 'config' });
    expect(await remote.authenticate(`${jwt.slice(0, -4)}AAAA`, ctx)).toBeUndefined();
  });

  it('refuses the JWTs of a disabled user within a poll of the admin feed', async () => {
    const user = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(user.email, user.password);
    expect(await remote.authenticate(jwt, ctx)).toBeDefined();
    await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': user.etag } });
    await expect.poll(() => remote.authenticate(jwt, ctx), { timeout: 3000, interval: 50 }).toBeUndefined();
  });

  it('keeps refusing the JWTs issued before a disable once the user is enabled again, and accepts one from a login after', async () => {
    const user = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(user.email, user.password);
    const disabled = await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': user.etag } });
    await expect.poll(() => remote.authenticate(jwt, ctx), { timeout: 3000, interval: 50 }).toBeUndefined();
    await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: false }, headers: { 'if-match': String(disabled.headers.etag) } });
    const after = await h.login(user.email, user.password);
    await remote.syncEvents();
    expect(await remote.authenticate(jwt, ctx)).toBeUndefined();
    expect(await remote.authenticate(after, ctx)).toMatchObject({ kind: 'user', id: user.id });
  });

  it('compares a cut-off with the millisecond a JWT was issued: at it refused, after it (in the same second) accepted; a disabled user refused whatever the time; an enable moves it', async () => {
    const [early, late] = [await createUser(h, [{ role: 'viewer' }]), await createUser(h, [{ role: 'viewer' }])];
    const loginMidSecond = async (u: { email: string; password: string }) => {
      let jwt = await h.login(u.email, u.password);
      while ((decodeJwt(jwt).iat_ms as number) % 1000 === 0) jwt = await h.login(u.email, u.password);
      return { jwt, issued: decodeJwt(jwt).iat_ms as number };
    };
    const a = await loginMidSecond(early);
    const b = await loginMidSecond(late);
    remote.handleEvent({ topic: 'admin.user.disabled', payload: { userId: early.id, at: a.issued } });
    remote.handleEvent({ topic: 'admin.user.disabled', payload: { userId: late.id, at: b.issued - 1 } });
    expect(await remote.authenticate(a.jwt, ctx)).toBeUndefined();
    // Signed after the disable's cut-off: a login that raced the disable. Refused while the user is disabled.
    expect(await remote.authenticate(b.jwt, ctx)).toBeUndefined();
    // An enable whose cut-off lies a millisecond before the JWT, in the same second: accepted.
    remote.handleEvent({ topic: 'admin.user.enabled', payload: { userId: late.id, at: b.issued - 1 } });
    expect(await remote.authenticate(b.jwt, ctx)).toMatchObject({ kind: 'user', id: late.id });
    // An enable after it (the JWT came from a login racing the disable): refused from then on.
    remote.handleEvent({ topic: 'admin.user.disabled', payload: { userId: late.id, at: b.issued } });
    remote.handleEvent({ topic: 'admin.user.enabled', payload: { userId: late.id, at: b.issued + 1 } });
    expect(await remote.authenticate(b.jwt, ctx)).toBeUndefined();
  });

  it('introspects API tokens, caches the answer, and drops it as soon as the token is revoked', async () => {
    const adminJwt = await h.login(h.admin.email, h.admin.password);
    const created = await h.call<{ id: string; secret: string }>('POST', '/v1/tokens', { token: adminJwt, body: { name: 'remote use' } });
    const principal = await remote.authenticate(created.body.secret, ctx);
    expect(principal).toMatchObject({ kind: 'token', id: created.body.id, onBehalfOf: { id: h.admin.userId } });
    // Cached: the answer holds without asking again (the admin would still say yes anyway).
    expect(await remote.authenticate(created.body.secret, ctx)).toEqual(principal);
    await h.call('DELETE', `/v1/tokens/${created.body.id}`, { token: adminJwt, headers: { 'if-match': String(created.headers.etag) } });
    await expect.poll(() => remote.authenticate(created.body.secret, ctx), { timeout: 3000, interval: 50 }).toBeUndefined();
  });

  it("keeps an API token's introspected answer no longer than the token lives", async () => {
    const adminJwt = await h.login(h.admin.email, h.admin.password);
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await h.call<{ id: string; secret: string }>('POST', '/v1/tokens', { token: adminJwt, body: { name: 'short-lived remote use', expiresAt } });
    expect(created.status).toBe(201);
    expect(await remote.authenticate(created.body.secret, ctx)).toMatchObject({ kind: 'token', id: created.body.id });
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 50));
    expect(await remote.authenticate(created.body.secret, ctx)).toBeUndefined();
  });

  it('authenticates requests of an app in another process through installAuth', async () => {
    const app = Fastify();
    installAuth(app, remote);
    app.get('/v1/whoami', async (request) => request.actor);
    try {
      const ok = await app.inject({ url: '/v1/whoami', headers: { authorization: 'Bearer admin-test-operator-token' } });
      expect(ok.json()).toMatchObject({ type: 'token', onBehalfOf: { type: 'user', id: h.admin.userId } });
      expect((await app.inject({ url: '/v1/whoami', headers: { authorization: 'Bearer rema_unknown' } })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('the remote authenticator without its admin service', () => {
  it('answers 503 (not 401, not 500) when the admin cannot be reached', async () => {
    const feedErrors: unknown[] = [];
    const down = createRemoteAuthenticator({ adminUrl: 'http://127.0.0.1:9', serviceToken: async () => 'unused', pollIntervalMs: 60_000, onError: (e) => feedErrors.push(e) });
    try {
      const jwt = await h.login(h.admin.email, h.admin.password);
      await expect(down.authenticate(jwt, ctx)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      await expect(down.authenticate('rema_some-api-token', ctx)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await expect.poll(() => feedErrors.length).toBeGreaterThan(0); // and says its denylist is stale
    } finally {
      await down.close();
    }
  });
});
