import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, newEmail, startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness();
});
afterAll(() => h?.close());

interface User {
  id: string;
  email: string;
  name: string;
  disabled: boolean;
  version: number;
  roles: Array<{ orgId: string; siteId: string | null; role: string }>;
  initialPassword?: string;
}

describe('users', () => {
  it('creates a user with a generated password shown once, which logs in', async () => {
    const email = newEmail('new');
    const res = await h.call<User>('POST', '/v1/users', { body: { email: email.toUpperCase(), name: 'Nina Engineer', roles: [{ role: 'engineer' }] } });
    expect(res.status).toBe(201);
    expect(res.headers.etag).toBe(`"user-${res.body.id}-v1"`);
    expect(res.headers.location).toBe(`/v1/users/${res.body.id}`);
    expect(res.body).toMatchObject({ email, name: 'Nina Engineer', disabled: false, version: 1, roles: [{ orgId: h.admin.orgId, siteId: null, role: 'engineer' }] });
    expect(res.body.initialPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const read = await h.call<User>('GET', `/v1/users/${res.body.id}`);
    expect(read.body).not.toHaveProperty('initialPassword');
    expect(JSON.stringify(read.body)).not.toMatch(/argon2/);
    await h.login(email, res.body.initialPassword!);
  });

  it('refuses an email that is taken (409) and a short password (422)', async () => {
    const taken = await h.call('POST', '/v1/users', { body: { email: h.admin.email, name: 'Copy' } });
    expect(taken).toMatchObject({ status: 409, body: { code: 'CONFLICT_CONSTRAINT' } });
    const short = await h.call('POST', '/v1/users', { body: { email: newEmail(), name: 'Short', password: 'short' } });
    expect(short).toMatchObject({ status: 422, body: { errors: [{ in: 'body', path: '/password' }] } });
  });

  it('updates with If-Match: 428 without, 412 when stale, 200 with the current ETag', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    expect((await h.call('PATCH', `/v1/users/${user.id}`, { body: { name: 'Renamed' } })).status).toBe(428);
    const ok = await h.call<User>('PATCH', `/v1/users/${user.id}`, { body: { name: 'Renamed' }, headers: { 'if-match': user.etag } });
    expect(ok).toMatchObject({ status: 200, body: { name: 'Renamed', version: 2 } });
    expect(ok.headers.etag).toBe(`"user-${user.id}-v2"`);
    const stale = await h.call('PATCH', `/v1/users/${user.id}`, { body: { name: 'Again' }, headers: { 'if-match': user.etag } });
    expect(stale).toMatchObject({ status: 412, body: { code: 'PRECONDITION_FAILED', currentEtag: `"user-${user.id}-v2"` } });
    const [event] = await h.auditOf({ entityId: user.id, action: 'update' });
    expect(event).toMatchObject({ service: 'admin', scope: `org:${h.admin.orgId}`, before: { name: `User ${user.email}` }, after: { name: 'Renamed' }, actor: { type: 'token' } });
  });

  it('lets users read themselves and change their own password with the current one, but nothing about others', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const other = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    expect((await h.call('GET', `/v1/users/${user.id}`, { token: jwt })).status).toBe(200);
    expect((await h.call('GET', `/v1/users/${other.id}`, { token: jwt })).body).toMatchObject({ code: 'FORBIDDEN' });
    expect((await h.call('GET', '/v1/users', { token: jwt })).status).toBe(403);
    const noCurrent = await h.call('PATCH', `/v1/users/${user.id}`, { token: jwt, body: { password: 'a-brand-new-password' }, headers: { 'if-match': user.etag } });
    expect(noCurrent.status).toBe(403);
    const disable = await h.call('PATCH', `/v1/users/${user.id}`, { token: jwt, body: { disabled: true }, headers: { 'if-match': user.etag } });
    expect(disable.status).toBe(403);
    const changed = await h.call('PATCH', `/v1/users/${user.id}`, {
      token: jwt,
      body: { password: 'a-brand-new-password', currentPassword: user.password },
      headers: { 'if-match': user.etag },
    });
    expect(changed.status).toBe(200);
    await h.login(user.email, 'a-brand-new-password');
    const [event] = await h.auditOf({ entityId: user.id, action: 'update' });
    expect(event.comment).toBe('password changed');
    expect(JSON.stringify(event)).not.toContain('a-brand-new-password');
  });

  it('counts wrong current passwords towards the login lockout and audits them; once locked, neither the check nor a login is tried', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    // An API token whose bindings narrow to nothing still acts for its creator, who is "self".
    const token = await h.call<{ secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'narrowed' } });
    const roles = await h.call('GET', `/v1/users/${user.id}/roles`);
    await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items: [{ role: 'viewer', siteId: randomUUID() }] }, headers: { 'if-match': String(roles.headers.etag) } });
    expect((await h.call('GET', '/v1/auth/me', { token: token.body.secret })).body).toMatchObject({ kind: 'token', bindings: [] });
    const read = await h.call<User>('GET', `/v1/users/${user.id}`, { token: jwt });
    const change = (bearer: string, currentPassword: string) =>
      h.call('PATCH', `/v1/users/${user.id}`, { token: bearer, body: { password: 'a-brand-new-password', currentPassword }, headers: { 'if-match': String(read.headers.etag) } });
    const login = (password: string) => h.call('POST', '/v1/auth/login', { token: null, body: { email: user.email, password } });

    // Failed logins and wrong current passwords are one count: 2 + 3 reach the 5 that lock.
    for (const guess of ['login-guess-1', 'login-guess-2']) expect((await login(guess)).status).toBe(401);
    for (const [bearer, guess] of [[jwt, 'guess-1'], [token.body.secret, 'guess-2'], [jwt, 'guess-3']]) {
      expect(await change(bearer, guess)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }
    const locked = await change(jwt, user.password);
    expect(locked).toMatchObject({ status: 423, body: { code: 'ACCOUNT_LOCKED' } });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
    expect(await login(user.password)).toMatchObject({ status: 423, body: { code: 'ACCOUNT_LOCKED' } });
    expect((await h.call<User>('GET', `/v1/users/${user.id}`)).body.version).toBe(read.body.version);

    const denied = (await h.auditOf({ entityId: user.id })).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => [e.action, e.comment])).toEqual([
      ['login', 'wrong password'],
      ['login', 'wrong password'],
      ['update', 'password change: wrong current password'],
      ['update', 'password change: wrong current password'],
      ['update', 'password change: wrong current password'],
      ['update', 'password change: account locked'],
      ['login', 'account locked'],
    ]);
    expect(denied[3]).toMatchObject({ scope: `org:${h.admin.orgId}`, service: 'admin', sourceIp: '127.0.0.1', actor: { type: 'token', onBehalfOf: { id: user.id } } });
    expect(denied[2].actor).toMatchObject({ type: 'user', id: user.id });
    expect(JSON.stringify(denied)).not.toMatch(/guess-|a-brand-new-password/);
  });

  it('forgets earlier failures once the current password is right, as a successful login does', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    const change = (currentPassword: string, etag: string) =>
      h.call('PATCH', `/v1/users/${user.id}`, { token: jwt, body: { password: 'another-new-password', currentPassword }, headers: { 'if-match': etag } });
    for (let i = 0; i < 4; i++) expect((await change(`guess-${i}`, user.etag)).status).toBe(403);
    expect((await change(user.password, user.etag)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await h.call('POST', '/v1/auth/login', { token: null, body: { email: user.email, password: `guess-${i}` } })).status).toBe(401);
    await h.login(user.email, 'another-new-password');
  });

  it('pages through the users of the organisation and filters them', async () => {
    const tag = `pg${Date.now()}`;
    for (let i = 0; i < 3; i++) await createUser(h, [{ role: 'viewer' }], { email: newEmail(tag) });
    const first = await h.call<{ items: User[]; nextCursor: string }>('GET', `/v1/users?q=${tag}&limit=2`);
    expect(first.body.items).toHaveLength(2);
    const second = await h.call<{ items: User[]; nextCursor: null }>('GET', `/v1/users?q=${tag}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ items: [{}], nextCursor: null });
    expect(new Set([...first.body.items, ...second.body.items].map((u) => u.id)).size).toBe(3);
  });

  it('deletes a user with If-Match: their tokens are revoked, the email is free again, the deletion is audited', async () => {
    const user = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(user.email, user.password);
    const token = await h.call<{ id: string; secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'soon gone' } });
    const res = await h.call('DELETE', `/v1/users/${user.id}`, { headers: { 'if-match': user.etag } });
    expect(res.status).toBe(204);
    expect((await h.call('GET', `/v1/users/${user.id}`)).status).toBe(404);
    expect((await h.call('GET', '/v1/auth/me', { token: jwt })).status).toBe(401);
    expect((await h.call('GET', '/v1/auth/me', { token: token.body.secret })).status).toBe(401);
    expect((await h.call('POST', '/v1/users', { body: { email: user.email, name: 'Successor' } })).status).toBe(201);
    const events = await h.auditOf({ entityId: user.id });
    expect(events.map((e) => e.action)).toEqual(['create', 'login', 'delete']);
    const { rows } = await h.db.pool.query(`SELECT topic FROM admin.outbox WHERE payload->>'userId' = $1 ORDER BY id`, [user.id]);
    expect(rows.map((r) => r.topic)).toEqual(['admin.user.created', 'admin.user.deleted', 'admin.token.revoked']);
  });

  it('refuses to disable, delete or demote the last admin of an organisation (409 LAST_ADMIN)', async () => {
    const admin = await h.call<User>('GET', `/v1/users/${h.admin.userId}`);
    const etag = String(admin.headers.etag);
    for (const [method, url, body] of [
      ['PATCH', `/v1/users/${h.admin.userId}`, { disabled: true }],
      ['PUT', `/v1/users/${h.admin.userId}/roles`, { items: [{ role: 'viewer' }] }],
      ['DELETE', `/v1/users/${h.admin.userId}`, undefined],
    ] as const) {
      const res = await h.call(method, url, { body, headers: { 'if-match': etag } });
      expect(res, `${method} ${url}`).toMatchObject({ status: 409, body: { code: 'LAST_ADMIN' } });
    }
    expect((await h.call<User>('GET', `/v1/users/${h.admin.userId}`)).body).toMatchObject({ disabled: false, version: admin.body.version });
  });
});

describe('cursors of the admin lists', () => {
  const cursor = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
  it.each([
    ['/v1/users', { email: 'a', id: 'notuuid' }],
    ['/v1/users', { email: 'a\u0000', id: randomUUID() }],
    ['/v1/users', { email: 'a' }],
    ['/v1/tokens', { createdAt: 'yesterday', id: 'token:0123456789ab' }],
    ['/v1/tokens', { createdAt: '0000-01-01T00:00:00.000Z', id: 'token:0123456789ab' }],
    ['/v1/tokens', { createdAt: '2025-01-01T00:00:00.000Z', id: 'not-a-token' }],
    ['/v1/orgs', { name: 'a', id: 'notuuid' }],
    ['/v1/orgs', { name: 'a\u0000', id: randomUUID() }],
  ])('refuse a hand-edited cursor of %s (%j) with 400 INVALID_CURSOR', async (list, position) => {
    const res = await h.call('GET', `${list}?cursor=${cursor(position)}`);
    expect(res).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
  });
});

describe('role bindings', () => {
  it('replaces a user\'s bindings with If-Match; site bindings name sites by id; a logged-in user sees the change at once', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    const site = randomUUID();
    const read = await h.call('GET', `/v1/users/${user.id}/roles`);
    expect(read.body).toEqual({ items: [{ orgId: h.admin.orgId, siteId: null, role: 'viewer' }] });
    const items = [{ role: 'operator', siteId: site }, { role: 'engineer', siteId: site }, { role: 'viewer' }, { role: 'viewer' }];
    expect((await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items } })).status).toBe(428);
    const put = await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items }, headers: { 'if-match': String(read.headers.etag) } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      items: [
        { orgId: h.admin.orgId, siteId: null, role: 'viewer' },
        { orgId: h.admin.orgId, siteId: site, role: 'operator' },
        { orgId: h.admin.orgId, siteId: site, role: 'engineer' },
      ],
    });
    expect(put.headers.etag).toBe(`"user-${user.id}-v2"`);
    expect((await h.call('GET', '/v1/auth/me', { token: jwt })).body).toMatchObject({ bindings: (put.body as { items: unknown[] }).items });
    const [event] = await h.auditOf({ entityId: user.id, action: 'update-roles' });
    expect(event).toMatchObject({ outcome: 'applied', before: { roles: [{ role: 'viewer' }] }, after: { roles: (put.body as { items: unknown[] }).items } });
  });

  it('refuses bindings from users who do not administer the organisation', async () => {
    const engineer = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(engineer.email, engineer.password);
    const res = await h.call('PUT', `/v1/users/${engineer.id}/roles`, { token: jwt, body: { items: [{ role: 'admin' }] }, headers: { 'if-match': engineer.etag } });
    expect(res).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', permission: 'admin.manage' } });
  });

  it('refuses a role that does not exist', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const res = await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items: [{ role: 'superuser' }] }, headers: { 'if-match': user.etag } });
    expect(res.status).toBe(422);
  });
});
