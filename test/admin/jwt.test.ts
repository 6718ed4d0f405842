import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './harness.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness({ auth: { accessTokenTtlSeconds: 1 } });
});
afterAll(() => h?.close());

describe('access JWTs', () => {
  it('are served as public keys at /.well-known/jwks.json without authentication, and a login JWT verifies against them with jose', async () => {
    const res = await h.call<{ keys: Array<Record<string, string>> }>('GET', '/.well-known/jwks.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toMatch(/max-age/);
    const [key] = res.body.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key).not.toHaveProperty('d'); // no private part
    const jwt = await h.login(h.admin.email, h.admin.password);
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'ES256', kid: key.kid });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(res.body as never), { issuer: 'rema-admin', audience: 'rema' });
    expect(payload).toMatchObject({ sub: h.admin.userId, kind: 'user', org: h.admin.orgId, rb: [[h.admin.orgId, null, 'admin']] });
    expect(payload.exp! - payload.iat!).toBe(1);
  });

  it('stop working when they expire', async () => {
    const jwt = await h.login(h.admin.email, h.admin.password);
    expect((await h.call('GET', '/v1/auth/me', { token: jwt })).status).toBe(200);
    await sleep(2100);
    const res = await h.call('GET', '/v1/auth/me', { token: jwt });
    expect(res).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rema", error="invalid_token"');
  });

  it('are refused when tampered with', async () => {
    const jwt = await h.login(h.admin.email, h.admin.password);
    const [header, payload, signature] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, rb: [[claims.org, null, 'admin'], ['other-org', null, 'admin']] })).toString('base64url')}.${signature}`;
    expect((await h.call('GET', '/v1/auth/me', { token: forged })).status).toBe(401);
  });
});

describe('authentication of /v1 routes', () => {
  it('answers 401 with a WWW-Authenticate challenge without a token, with a malformed header and with an unknown token', async () => {
    const none = await h.call('GET', '/v1/users', { token: null });
    expect(none).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(none.headers['www-authenticate']).toBe('Bearer realm="rema"');
    const basic = await h.call('GET', '/v1/users', { token: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
    expect(basic.headers['www-authenticate']).toBe('Bearer realm="rema", error="invalid_request"');
    const unknown = await h.call('GET', '/v1/users', { token: 'rema_not-a-real-token' });
    expect(unknown.headers['www-authenticate']).toBe('Bearer realm="rema", error="invalid_token"');
  });

  it('leaves health, docs and the JWKS open', async () => {
    for (const url of ['/healthz', '/openapi.json', '/.well-known/jwks.json']) expect((await h.call('GET', url, { token: null })).status).toBe(200);
  });
});
