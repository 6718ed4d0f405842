import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type Server } from '../../src/server.ts';
import { createUser, startAdminHarness, type AdminHarness } from './harness.ts';

// Two instances on one database: what one's admin API changes, the other's cached credentials follow.
let h: AdminHarness;
let other: Server;
beforeAll(async () => {
  h = await startAdminHarness();
  other = await buildServer({ databaseUrl: h.db.url });
  await other.app.ready();
});
afterAll(async () => {
  await other?.close();
  await h?.close();
});

async function meOnOther(token: string): Promise<{ status: number; bindings?: unknown[] }> {
  const res = await other.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, bindings: res.statusCode === 200 ? res.json().bindings : undefined };
}

/** Both instances' authenticators listen (and so keep what they read) once each has looked up a credential. */
async function bothListening() {
  const deadline = Date.now() + 5000;
  while (!(h.server.admin!.authenticator.listening && other.admin!.authenticator.listening)) {
    if (Date.now() > deadline) throw new Error('the two instances do not both listen for changes to credentials');
    await sleep(20);
  }
}

const listeners = async () =>
  (await h.db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rema-access-listener'`)).rows[0].n as number;

/** Polls the other instance's /v1/auth/me until `seen` holds (at most 3 s). */
async function untilOther(token: string, what: string, seen: (me: { status: number; bindings?: unknown[] }) => boolean): Promise<void> {
  const started = Date.now();
  while (!seen(await meOnOther(token))) {
    if (Date.now() - started > 3000) throw new Error(`the other instance still does not see ${what} after 3 s`);
    await sleep(5);
  }
}

describe('credentials across instances', () => {
  it('an API token revoked on one instance stops working on the other', async () => {
    const jwt = await h.login(h.admin.email, h.admin.password);
    const created = await h.call<{ id: string; secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'on two instances' } });
    expect((await meOnOther(created.body.secret)).status).toBe(200);
    await bothListening();
    expect((await meOnOther(created.body.secret)).status).toBe(200); // read, and now kept
    expect((await meOnOther(created.body.secret)).status).toBe(200);

    const revoke = await h.call('DELETE', `/v1/tokens/${created.body.id}`, { token: jwt, headers: { 'if-match': String(created.headers.etag) } });
    expect(revoke.status).toBe(204);
    expect((await h.call('GET', '/v1/auth/me', { token: created.body.secret })).status).toBe(401); // at once where it was revoked
    await untilOther(created.body.secret, 'the token revoked', (me) => me.status === 401);
  });

  it('on the instance that made the change, it holds before the answer: without waiting for the notification', async () => {
    const jwt = await h.login(h.admin.email, h.admin.password);
    const created = await h.call<{ id: string; secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'notified late' } });
    await bothListening();
    for (let i = 0; i < 2; i++) {
      expect((await h.call('GET', '/v1/auth/me', { token: created.body.secret })).status).toBe(200);
      expect((await meOnOther(created.body.secret)).status).toBe(200);
    }
    // No notification at all: only what the instance does itself before answering.
    await h.db.pool.query(`ALTER TABLE admin.api_tokens DISABLE TRIGGER api_tokens_access_changed`);
    try {
      const revoke = await h.call('DELETE', `/v1/tokens/${created.body.id}`, { token: jwt, headers: { 'if-match': String(created.headers.etag) } });
      expect(revoke.status).toBe(204);
      expect((await h.call('GET', '/v1/auth/me', { token: created.body.secret })).status).toBe(401);
      // The other instance, never told, still holds the token as it read it: what the trigger is for.
      expect((await meOnOther(created.body.secret)).status).toBe(200);
      // But what it answers to introspection is read afresh: services run apart keep that answer.
      const introspected = await other.app.inject({
        method: 'POST',
        url: '/v1/auth/introspect',
        headers: { authorization: `Bearer ${await other.admin!.serviceToken('config')}` },
        payload: { token: created.body.secret },
      });
      expect(introspected.json()).toEqual({ active: false });
    } finally {
      await h.db.pool.query(`ALTER TABLE admin.api_tokens ENABLE TRIGGER api_tokens_access_changed`);
    }
    other.admin?.authenticator.forget();
    expect((await meOnOther(created.body.secret)).status).toBe(401);
  });

  it('a user re-roled or disabled on one instance loses that access on the other, by JWT and by API token', async () => {
    const user = await createUser(h, [{ role: 'engineer' }]);
    const jwt = await h.login(user.email, user.password);
    const token = await h.call<{ secret: string }>('POST', '/v1/tokens', { token: jwt, body: { name: 'robot' } });
    await bothListening();
    for (const bearer of [jwt, token.body.secret, jwt, token.body.secret]) expect(await meOnOther(bearer)).toMatchObject({ status: 200, bindings: [{ role: 'engineer' }] });

    const reRoled = await h.call('PUT', `/v1/users/${user.id}/roles`, { body: { items: [{ role: 'viewer' }] }, headers: { 'if-match': user.etag } });
    expect(reRoled.status).toBe(200);
    // The token narrows to what its user still holds: nothing of engineer, and it never held viewer.
    await untilOther(jwt, 'the new role', (me) => JSON.stringify(me.bindings?.map((b) => (b as { role: string }).role)) === '["viewer"]');
    await untilOther(token.body.secret, 'the role taken away', (me) => me.status === 200 && me.bindings?.length === 0);

    const disabled = await h.call('PATCH', `/v1/users/${user.id}`, { body: { disabled: true }, headers: { 'if-match': String(reRoled.headers.etag) } });
    expect(disabled.status).toBe(200);
    await untilOther(jwt, 'the user disabled', (me) => me.status === 401);
    await untilOther(token.body.secret, 'the user disabled', (me) => me.status === 401);
  });

  it('a server closed closes its listening connection', async () => {
    await bothListening();
    expect(await listeners()).toBe(2);
    await other.close();
    const deadline = Date.now() + 3000;
    while ((await listeners()) !== 1 && Date.now() < deadline) await sleep(20);
    expect(await listeners()).toBe(1);
  });
});
