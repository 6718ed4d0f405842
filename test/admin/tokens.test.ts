import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
let adminJwt: string;
beforeAll(async () => {
  h = await startAdminHarness();
  adminJwt = await h.login(h.admin.email, h.admin.password);
});
afterAll(() => h?.close());

interface Token {
  id: string;
  secret?: string;
  status: string;
  roles: Array<{ orgId: string; siteId: string | null; role: string }>;
  expiresAt: string | null;
}

async function createToken(jwt: string, body: Record<string, unknown>) {
  return h.call<Token>('POST', '/v1/tokens', { token: jwt, body });
}

describe('API tokens', () => {
  it('shows the secret once, stores only its sha256, and the secret works as a bearer token', async () => {
    const res = await createToken(adminJwt, { name: 'ci pipeline' });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { secret, id } = res.body;
    expect(secret).toMatch(/^rema_[A-Za-z0-9_-]{43}$/);
    expect(res.body).toMatchObject({ status: 'active', roles: [{ orgId: h.admin.orgId, siteId: null, role: 'admin' }] });
    expect(Date.parse(String(res.body.expiresAt)) - Date.now()).toBeGreaterThan(89 * 86_400_000); // 90 days by default

    const read = await h.call('GET', `/v1/tokens/${id}`, { token: adminJwt });
    const list = await h.call('GET', '/v1/tokens', { token: adminJwt });
    expect(JSON.stringify(read.body)).not.toContain(String(secret));
    expect(JSON.stringify(list.body)).not.toContain(String(secret));
    expect(read.body).not.toHaveProperty('secret');

    const { rows } = await h.db.pool.query('SELECT * FROM admin.api_tokens WHERE id = $1', [id]);
    expect(JSON.stringify(rows[0])).not.toContain(String(secret));
    expect(rows[0].secret_hash).toEqual(createHash('sha256').update(String(secret)).digest());

    const me = await h.call('GET', '/v1/auth/me', { token: secret });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'token', id, orgId: h.admin.orgId, onBehalfOf: { id: h.admin.userId } });
  });

  it('records the token as the actor of what it does, on behalf of its user', async () => {
    const { body } = await createToken(adminJwt, { name: 'actor check' });
    const user = await createUser(h, [{ role: 'viewer' }], { token: body.secret });
    const [event] = await h.auditOf({ entityId: user.id, action: 'create' });
    expect(event.actor).toEqual({ type: 'token', id: body.id, name: 'actor check', onBehalfOf: { type: 'user', id: h.admin.userId, name: 'Administrator' } });
  });

  it('is scoped: no binding wider than its creator holds', async () => {
    const site = randomUUID();
    const engineer = await createUser(h, [{ role: 'engineer', siteId: site }, { role: 'viewer' }]);
    const jwt = await h.login(engineer.email, engineer.password);

    const narrow = await createToken(jwt, { name: 'site engineer', roles: [{ role: 'engineer', siteId: site }] });
    expect(narrow.status).toBe(201);
    expect((await h.call('GET', '/v1/auth/me', { token: narrow.body.secret })).body).toMatchObject({
      bindings: [{ orgId: h.admin.orgId, siteId: site, role: 'engineer' }],
    });

    for (const roles of [[{ role: 'engineer' }], [{ role: 'admin', siteId: site }], [{ role: 'operator', siteId: site }]]) {
      const wide = await createToken(jwt, { name: 'too wide', roles });
      expect(wide.status, JSON.stringify(roles)).toBe(403);
      expect(wide.body).toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('narrows to what its user still holds when the user loses a role', async () => {
    const user = await createUser(h, [{ role: 'engineer' }, { role: 'auditor' }]);
    const jwt = await h.login(user.email, user.password);
    const token = (await createToken(jwt, { name: 'mine' })).body;
    const roles = await h.call('GET', `/v1/users/${user.id}/roles`);
    await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items: [{ role: 'auditor' }] }, headers: { 'if-match': String(roles.headers.etag) } });
    expect((await h.call('GET', '/v1/auth/me', { token: token.secret })).body).toMatchObject({ bindings: [{ role: 'auditor' }] });
  });

  it('cannot be made by another token', async () => {
    const res = await createToken('admin-test-operator-token', { name: 'chained' });
    expect(res).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it('stops working when revoked: DELETE needs If-Match, then the token answers 401', async () => {
    const created = await createToken(adminJwt, { name: 'to revoke' });
    const { id, secret } = created.body;
    for (let i = 0; i < 50 && !h.server.admin!.authenticator.listening; i++) await sleep(20);
    expect(h.server.admin!.authenticator.listening).toBe(true);
    for (let i = 0; i < 2; i++) expect((await h.call('GET', '/v1/auth/me', { token: secret })).status).toBe(200); // read, then kept
    expect((await h.call('DELETE', `/v1/tokens/${id}`, { token: adminJwt })).status).toBe(428);
    const revoke = await h.call('DELETE', `/v1/tokens/${id}`, { token: adminJwt, headers: { 'if-match': String(created.headers.etag) } });
    expect(revoke.status).toBe(204);
    const denied = await h.call('GET', '/v1/auth/me', { token: secret });
    expect(denied).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="rema", error="invalid_token"');
    expect((await h.call<Token>('GET', `/v1/tokens/${id}`, { token: adminJwt })).body).toMatchObject({ status: 'revoked' });
    const events = await h.auditOf({ entityId: id });
    expect(events.map((e) => [e.action, e.outcome, e.service])).toEqual([
      ['create', 'applied', 'admin'],
      ['revoke', 'applied', 'admin'],
    ]);
    const { rows } = await h.db.pool.query(`SELECT topic, payload FROM admin.outbox WHERE key = $1`, [id]);
    expect(rows).toMatchObject([{ topic: 'admin.token.revoked', payload: { tokenId: id, userId: h.admin.userId } }]);
  });

  it('stops working when it expires', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const { body } = await createToken(adminJwt, { name: 'short', expiresAt });
    expect((await h.call('GET', '/v1/auth/me', { token: body.secret })).status).toBe(200);
    await sleep(1600);
    expect((await h.call('GET', '/v1/auth/me', { token: body.secret })).status).toBe(401);
    expect((await h.call<Token>('GET', `/v1/tokens/${body.id}`, { token: adminJwt })).body.status).toBe('expired');
  });

  it('refuses an expiry in the past or more than a year ahead', async () => {
    for (const expiresAt of [new Date(Date.now() - 1000).toISOString(), new Date(Date.now() + 400 * 86_400_000).toISOString()]) {
      const res = await createToken(adminJwt, { name: 'bad expiry', expiresAt });
      expect(res).toMatchObject({ status: 422, body: { code: 'VALIDATION_FAILED', errors: [{ in: 'body', path: '/expiresAt' }] } });
    }
  });

  it('refuses a name of white space alone or with control characters, with 422 on /name (not a database refusal)', async () => {
    for (const name of ['   ', '\t', '\ufeff', 'line\nbreak', 'red\u001b[31m', 'c1\u009bcsi']) {
      const res = await createToken(adminJwt, { name });
      expect([name, res.status, res.body]).toEqual([name, 422, expect.objectContaining({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ in: 'body', path: '/name' })] })]);
    }
  });

  it('lists only your own tokens unless you administer the organisation', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    const mine = (await createToken(jwt, { name: 'mine' })).body;
    const list = await h.call<{ items: Token[] }>('GET', '/v1/tokens', { token: jwt });
    expect(list.body.items.map((t) => t.id)).toEqual([mine.id]);
    const all = await h.call<{ items: Token[] }>('GET', '/v1/tokens?limit=500', { token: adminJwt });
    expect(all.body.items.map((t) => t.id)).toContain(mine.id);
    const adminOnes = await h.call<{ items: Token[] }>('GET', '/v1/tokens?limit=500', { token: adminJwt });
    const someoneElses = adminOnes.body.items.find((t) => t.id !== mine.id)!;
    expect((await h.call('GET', `/v1/tokens/${someoneElses.id}`, { token: jwt })).status).toBe(403);
  });

  it('pages through tokens with a cursor', async () => {
    for (let i = 0; i < 3; i++) await createToken(adminJwt, { name: `page ${i}` });
    const first = await h.call<{ items: Token[]; nextCursor: string }>('GET', '/v1/tokens?limit=2', { token: adminJwt });
    expect(first.body.items).toHaveLength(2);
    const second = await h.call<{ items: Token[] }>('GET', `/v1/tokens?limit=2&cursor=${first.body.nextCursor}`, { token: adminJwt });
    expect(second.body.items.map((t) => t.id)).not.toContain(first.body.items[0].id);
  });

  it('shows every token once across pages, however many are made in one millisecond', async () => {
    const user = await createUser(h, [{ role: 'viewer' }]);
    const jwt = await h.login(user.email, user.password);
    const made = [];
    for (let i = 0; i < 7; i++) made.push((await createToken(jwt, { name: `walk ${i}` })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page: { body: { items: Token[]; nextCursor: string | null } } = await h.call('GET', `/v1/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: jwt });
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(made);
  });
});
