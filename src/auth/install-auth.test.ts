import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp, type HttpApp } from '../http/app.ts';
import type { Authenticator } from './authenticator.ts';
import { authorize, authorizeIfVisible, installAuth, requireService, scopesOf } from './install-auth.ts';
import type { Principal } from './principal.ts';

const ORG = '11111111-1111-4111-8111-111111111111';
const SITE = '22222222-2222-4222-8222-222222222222';
const principals: Record<string, Principal> = {
  viewer: { kind: 'user', id: 'u-1', name: 'Vera', orgId: ORG, bindings: [{ orgId: ORG, siteId: null, role: 'viewer' }] },
  siteEngineer: { kind: 'user', id: 'u-2', name: 'Sam', orgId: ORG, bindings: [{ orgId: ORG, siteId: SITE, role: 'engineer' }] },
  stranger: { kind: 'user', id: 'u-3', name: 'Olga', orgId: 'other', bindings: [{ orgId: 'other', siteId: null, role: 'admin' }] },
  service: { kind: 'service', id: 'lifecycle', name: 'lifecycle', orgId: null, bindings: [] },
};
const fake: Authenticator = { authenticate: async (bearer) => principals[bearer] };

let app: HttpApp;
beforeAll(async () => {
  app = await buildHttpApp();
  installAuth(app, fake);
  app.get('/v1/whoami', async (request) => ({ principal: request.principal, actor: request.actor }));
  app.post('/v1/auth/login', async (request) => ({ principal: request.principal ?? null }));
  app.put('/v1/sites/:id/config', async (request) => {
    authorize(request, 'config.write', { orgId: ORG, siteId: (request.params as { id: string }).id }, 'Site does not exist.');
    return { ok: true };
  });
  app.get('/v1/sites/:id/usable', async (request) => ({ usable: authorizeIfVisible(request, 'config.write', { orgId: ORG, siteId: (request.params as { id: string }).id }) }));
  app.get('/v1/audit-scopes', async (request) => ({ scopes: scopesOf(request, 'audit.read', { required: true }) }));
  app.get('/v1/internal/thing', async (request) => {
    requireService(request);
    return { ok: true };
  });
  await app.ready();
});
afterAll(() => app?.close());

const get = (url: string, bearer?: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers } });

describe('installAuth', () => {
  it('sets the principal and its audit actor', async () => {
    const res = await get('/v1/whoami', 'viewer');
    expect(res.json()).toEqual({ principal: principals.viewer, actor: { type: 'user', id: 'u-1', name: 'Vera' } });
  });

  it('answers 401 with a challenge for a missing, malformed or unknown token', async () => {
    for (const [headers, challenge] of [
      [{}, 'Bearer realm="rema"'],
      [{ authorization: 'Token viewer' }, 'Bearer realm="rema", error="invalid_request"'],
      [{ authorization: 'Bearer' }, 'Bearer realm="rema", error="invalid_request"'],
      [{ authorization: 'Bearer nobody' }, 'Bearer realm="rema", error="invalid_token"'],
    ] as const) {
      const res = await get('/v1/whoami', undefined, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toBe(challenge);
      expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('lets the login route and routes outside /v1 through without a token', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/auth/login' })).json()).toEqual({ principal: null });
    expect((await get('/healthz')).statusCode).toBe(200);
  });

  it('turns X-Rema-On-Behalf-Of of a service into onBehalfOf of principal and actor', async () => {
    const res = await get('/v1/whoami', 'service', { 'x-rema-on-behalf-of': '{"id":"u-9","name":"Nia"}' });
    expect(res.json().actor).toEqual({ type: 'system', id: 'lifecycle', name: 'lifecycle', onBehalfOf: { type: 'user', id: 'u-9', name: 'Nia' } });
    expect((await get('/v1/whoami', 'viewer', { 'x-rema-on-behalf-of': '{"id":"u-9","name":"Nia"}' })).statusCode).toBe(403);
  });
});

describe('authorize', () => {
  const put = (bearer: string, site = SITE) => app.inject({ method: 'PUT', url: `/v1/sites/${site}/config`, headers: { authorization: `Bearer ${bearer}` } });

  it('allows a binding that grants the permission on the scope', async () => {
    expect((await put('siteEngineer')).statusCode).toBe(200);
    expect((await put('service')).statusCode).toBe(200);
  });

  it('answers 403 naming the missing permission when the principal may see but not do', async () => {
    const res = await put('viewer');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'config.write' });
    expect(res.json().detail).toContain('config.write');
  });

  it('answers 404 with the route\'s own detail when the principal has nothing there', async () => {
    for (const [who, site] of [['stranger', SITE], ['siteEngineer', '33333333-3333-4333-8333-333333333333']]) {
      const res = await put(who, site);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND', detail: 'Site does not exist.' });
    }
  });

  it('keeps internal routes for services', async () => {
    expect((await get('/v1/internal/thing', 'viewer')).statusCode).toBe(403);
    expect((await get('/v1/internal/thing', 'service')).statusCode).toBe(200);
  });
});

describe('authorizeIfVisible', () => {
  const usable = (bearer: string, site = SITE) => get(`/v1/sites/${site}/usable`, bearer);

  it('is true when allowed, false where authorize would answer 404, and still 403 when visible without the permission', async () => {
    expect((await usable('siteEngineer')).json()).toEqual({ usable: true });
    expect((await usable('stranger')).json()).toEqual({ usable: false });
    expect((await usable('siteEngineer', '33333333-3333-4333-8333-333333333333')).json()).toEqual({ usable: false });
    expect((await usable('viewer')).json()).toMatchObject({ status: 403, permission: 'config.write' });
  });
});

describe('scopesOf', () => {
  it('lists where the caller holds the permission, null for a service, and with required 403 when nowhere', async () => {
    expect((await get('/v1/audit-scopes', 'stranger')).json()).toEqual({ scopes: [{ orgId: 'other', siteId: null }] });
    expect((await get('/v1/audit-scopes', 'service')).json()).toEqual({ scopes: null });
    expect((await get('/v1/audit-scopes', 'viewer')).json()).toMatchObject({ status: 403, code: 'FORBIDDEN', permission: 'audit.read' });
  });
});
