/**
 * Walks every operation of `/openapi.json` with every kind of caller and checks each answer:
 * no token, an expired token and a revoked API token → 401; a role too low → 403; a caller bound
 * to another site of the organisation → 404 (or lists without the site's data); another tenant's
 * admin → 404 exactly like a missing resource, lists without a trace of the tenant.
 *
 * Every operation must be classified below, and every classified operation must exist: a new
 * route fails this test until someone says who may call it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Permission } from '../../src/auth/principal.ts';
import { gatewayConfig, NETWORK, type Method, type Problem } from '../api/helpers.ts';
import { assetTag, buildAccessFixture, deviceTag, leaked, type AccessFixture, type Caller } from './fixture.ts';

/**
 * What a caller must get: a status (a problem+json answer), `ok` (2xx), or `clean` (2xx and no
 * id the caller may not see anywhere in the body).
 */
type Expect = 401 | 403 | 404 | 'ok' | 'clean';

interface Request {
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Operation {
  req(f: AccessFixture): Request;
  /** The id in the request that names the resource: a random one in its place must answer the very 404 other callers get. */
  id?(f: AccessFixture): string;
  expect: Partial<Record<Caller, Expect>>;
}

/** Routes that authenticate otherwise (credentials, refresh token, service secret) or not at all. `/openapi.json` and `/docs` are hidden from the document itself. */
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /.well-known/jwks.json', 'POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /v1/auth/service-token'];

/** The org-wide role of organisation A that lacks each permission (but may read). */
const TOO_LOW: Record<Permission, Caller> = {
  read: 'none',
  'config.write': 'operator',
  'sites.manage': 'engineer',
  'lifecycle.write': 'engineer',
  deploy: 'engineer',
  'admin.manage': 'viewer',
  'audit.read': 'operator',
};

// ----------------------------------------------------------------- classes of operations

/** A read of something in site 1. */
const siteRead = (req: Operation['req'], id: Operation['id']): Operation => ({ req, id, expect: { adminA: 'ok', viewer: 'ok', viewer1: 'ok', stranger: 404, adminB: 404 } });

/** A write of something in site 1, needing `permission` there. */
const siteWrite = (permission: Permission, req: Operation['req'], id: Operation['id']): Operation => ({
  req,
  id,
  expect: { [TOO_LOW[permission]]: 403, viewer1: 403, stranger: 404, adminB: 404 },
});

/** A write on organisation A itself (no site), needing `permission` org-wide: a site-bound caller has nothing there. */
const orgWrite = (permission: Permission, req: Operation['req'], id: Operation['id']): Operation => ({
  req,
  id,
  expect: { [TOO_LOW[permission]]: 403, viewer1: 404, stranger: 404, adminB: 404 },
});

/** A list: everyone may ask, each sees only what they may read. */
const list = (req: Operation['req']): Operation => ({ req, expect: { adminA: 'ok', viewer: 'ok', viewer1: 'clean', stranger: 'clean', adminB: 'clean' } });

/** The catalog: any authenticated caller. */
const catalog = (req: Operation['req']): Operation => ({ req, expect: { viewer1: 'clean', stranger: 'clean', adminB: 'clean' } });

/** Internal routes: service principals only, 403 for everyone else whatever the id. */
const serviceOnly = (req: Operation['req'], serviceMayCall: boolean): Operation => ({
  req,
  expect: { adminA: 403, viewer: 403, stranger: 403, adminB: 403, ...(serviceMayCall ? { service: 'ok' as const } : {}) },
});

const url = (u: string) => () => ({ url: u });
const ifMatch = (etag: string) => ({ 'if-match': etag });
const unique = () => randomUUID().slice(0, 8).toUpperCase();
const meterId = (f: AccessFixture) => f.meter.id;
const cableId = (f: AccessFixture) => f.cable.id;
const site1Id = (f: AccessFixture) => f.site1.id;
const deviceId = (f: AccessFixture) => f.installedDevice.id;
const cableTag = (f: AccessFixture) => `"connection-${f.cable.id}-v${f.cable.version}"`;

const OPERATIONS: Record<string, Operation> = {
  // ---------------------------------------------------------------- config: sites
  'POST /v1/sites': orgWrite(
    'sites.manage',
    (f) => ({ url: '/v1/sites', body: { orgId: f.orgA, code: `W-${unique()}`, name: 'walk', timezone: 'Europe/Berlin', network: NETWORK } }),
    (f) => f.orgA,
  ),
  'GET /v1/sites': list(url('/v1/sites?limit=200')),
  'GET /v1/sites/{id}': siteRead((f) => ({ url: `/v1/sites/${f.site1.id}` }), site1Id),
  'PATCH /v1/sites/{id}': siteWrite('sites.manage', (f) => ({ url: `/v1/sites/${f.site1.id}`, body: { name: 'renamed' }, headers: ifMatch(`"site-${f.site1.id}-v${f.site1.version}"`) }), site1Id),
  'DELETE /v1/sites/{id}': siteWrite('sites.manage', (f) => ({ url: `/v1/sites/${f.site1.id}`, headers: ifMatch(`"site-${f.site1.id}-v${f.site1.version}"`) }), site1Id),
  'GET /v1/sites/{id}/graph': siteRead((f) => ({ url: `/v1/sites/${f.site1.id}/graph` }), site1Id),
  'POST /v1/sites/{id}/validate': siteRead((f) => ({ url: `/v1/sites/${f.site1.id}/validate` }), site1Id),

  // ---------------------------------------------------------------- config: assets
  'POST /v1/assets': siteWrite(
    'config.write',
    (f) => ({ url: '/v1/assets', body: { siteId: f.site1.id, kind: 'gateway', modelId: 'nexa-gw-200', name: `GW-${unique()}`, config: gatewayConfig('10.20.0.99') } }),
    site1Id,
  ),
  'GET /v1/assets': list(url('/v1/assets?limit=200')),
  'GET /v1/assets/{id}': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}` }), meterId),
  'PATCH /v1/assets/{id}': siteWrite('config.write', (f) => ({ url: `/v1/assets/${f.meter.id}`, body: { name: 'renamed' }, headers: ifMatch(assetTag(f.meter)) }), meterId),
  'DELETE /v1/assets/{id}': siteWrite('config.write', (f) => ({ url: `/v1/assets/${f.meter.id}`, headers: ifMatch(assetTag(f.meter)) }), meterId),
  'GET /v1/assets/{id}/config': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/config` }), meterId),
  'PUT /v1/assets/{id}/config': siteWrite('config.write', (f) => ({ url: `/v1/assets/${f.meter.id}/config`, body: f.meter.config, headers: ifMatch(assetTag(f.meter)) }), meterId),
  'GET /v1/assets/{id}/versions': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/versions` }), meterId),
  'GET /v1/assets/{id}/versions/{version}': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/versions/1` }), meterId),
  'GET /v1/assets/{id}/diff': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/diff?from=1&to=1` }), meterId),
  'GET /v1/assets/{id}/history': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/history` }), meterId),
  'GET /v1/assets/{id}/deployment-state': siteRead((f) => ({ url: `/v1/assets/${f.meter.id}/deployment-state` }), meterId),

  // ---------------------------------------------------------------- config: cables and change sets
  'POST /v1/connections': siteWrite(
    'config.write',
    (f) => ({ url: '/v1/connections', body: { siteId: f.site1.id, a: { assetId: f.equip.gateway.id, port: 'eth0' }, b: { assetId: f.meter.id, port: 'com' }, lengthM: 3 } }),
    site1Id,
  ),
  'GET /v1/connections': list(url('/v1/connections?limit=200')),
  'GET /v1/connections/{id}': siteRead((f) => ({ url: `/v1/connections/${f.cable.id}` }), cableId),
  'PATCH /v1/connections/{id}': siteWrite('config.write', (f) => ({ url: `/v1/connections/${f.cable.id}`, body: { label: 'relabelled' }, headers: ifMatch(cableTag(f)) }), cableId),
  'DELETE /v1/connections/{id}': siteWrite('config.write', (f) => ({ url: `/v1/connections/${f.cable.id}`, headers: ifMatch(cableTag(f)) }), cableId),
  'POST /v1/sites/{siteId}/changesets': siteWrite(
    'config.write',
    (f) => ({ url: `/v1/sites/${f.site1.id}/changesets`, body: { operations: [{ op: 'updateAsset', id: f.meter.id, expectedVersion: f.meter.version, patch: { name: 'renamed' } }] } }),
    site1Id,
  ),
  'GET /v1/sites/{siteId}/changesets': siteRead((f) => ({ url: `/v1/sites/${f.site1.id}/changesets` }), site1Id),
  'GET /v1/changesets/{id}': siteRead((f) => ({ url: `/v1/changesets/${f.changesetId}` }), (f) => f.changesetId),
  'PUT /v1/internal/assets/{id}/deployed': serviceOnly((f) => ({ url: `/v1/internal/assets/${f.meter.id}/deployed`, body: { configVersion: null } }), false),
  'POST /v1/internal/deployed': serviceOnly((f) => ({ url: '/v1/internal/deployed', body: { items: [{ assetId: f.meter.id, configVersion: null }] } }), false),

  // ---------------------------------------------------------------- catalog
  'GET /v1/models': catalog(url('/v1/models')),
  'GET /v1/models/{id}': catalog(url('/v1/models/nexa-gw-200')),
  'GET /v1/rules': catalog(url('/v1/rules')),
  'GET /v1/firmware': catalog(url('/v1/firmware')),

  // ---------------------------------------------------------------- lifecycle: devices
  'POST /v1/devices': orgWrite(
    'lifecycle.write',
    (f) => ({ url: '/v1/devices', body: { orgId: f.orgA, serial: `WALK-${unique()}`, modelId: 'voltis-em-340', firmware: '1.0.0' } }),
    (f) => f.orgA,
  ),
  'GET /v1/devices': list(url('/v1/devices?limit=200')),
  'GET /v1/devices/{id}': siteRead((f) => ({ url: `/v1/devices/${f.installedDevice.id}` }), deviceId),
  'PATCH /v1/devices/{id}': siteWrite(
    'lifecycle.write',
    (f) => ({ url: `/v1/devices/${f.installedDevice.id}`, body: { comment: 'walk' }, headers: ifMatch(deviceTag(f.installedDevice)) }),
    deviceId,
  ),
  'GET /v1/devices/{id}/transitions': siteRead((f) => ({ url: `/v1/devices/${f.installedDevice.id}/transitions` }), deviceId),
  'POST /v1/devices/{id}/transitions': siteWrite(
    'lifecycle.write',
    (f) => ({ url: `/v1/devices/${f.installedDevice.id}/transitions`, body: { transition: 'report_fault' }, headers: ifMatch(deviceTag(f.installedDevice)) }),
    deviceId,
  ),
  'POST /v1/devices/{id}/replace': siteWrite(
    'lifecycle.write',
    (f) => ({ url: `/v1/devices/${f.installedDevice.id}/replace`, body: { newDeviceId: f.stockDevice.id }, headers: ifMatch(deviceTag(f.installedDevice)) }),
    deviceId,
  ),

  // ---------------------------------------------------------------- lifecycle: deployments and drift
  'POST /v1/deployments': siteWrite('deploy', (f) => ({ url: '/v1/deployments', body: { siteId: f.site1.id } }), site1Id),
  'GET /v1/deployments': list(url('/v1/deployments?limit=200')),
  'GET /v1/deployments/{id}': siteRead((f) => ({ url: `/v1/deployments/${f.deploymentId}` }), (f) => f.deploymentId),
  'POST /v1/deployments/{id}/cancel': siteWrite('deploy', (f) => ({ url: `/v1/deployments/${f.deploymentId}/cancel`, body: {} }), (f) => f.deploymentId),
  'GET /v1/sites/{id}/drift': siteRead((f) => ({ url: `/v1/sites/${f.site1.id}/drift` }), site1Id),

  // ---------------------------------------------------------------- audit
  'GET /v1/audit': { req: url('/v1/audit?limit=1000'), expect: { viewer: 403, operator: 403, engineer: 403, viewer1: 403, auditor: 'ok', auditor1: 'clean', stranger: 'clean', adminB: 'clean' } },
  'GET /v1/audit/verify': { req: url('/v1/audit/verify'), expect: { viewer: 403, operator: 403, engineer: 403, viewer1: 403, auditor: 'ok', auditor1: 'ok', stranger: 'clean', adminB: 'clean' } },

  // ---------------------------------------------------------------- admin: who am I, tokens, introspection, events
  'GET /v1/auth/me': { req: url('/v1/auth/me'), expect: { viewer: 'ok', viewer1: 'clean', stranger: 'clean', adminB: 'clean' } },
  'POST /v1/auth/introspect': serviceOnly((f) => ({ url: '/v1/auth/introspect', body: { token: f.tokens.viewer } }), true),
  'GET /v1/internal/events/admin': serviceOnly(url('/v1/internal/events/admin?limit=1'), true),
  'GET /v1/internal/events/config': serviceOnly(url('/v1/internal/events/config?limit=1'), true),
  'GET /v1/internal/events/lifecycle': serviceOnly(url('/v1/internal/events/lifecycle?limit=1'), true),
  'POST /v1/tokens': { req: () => ({ url: '/v1/tokens', body: { name: 'walk' } }), expect: { viewer: 'ok', viewer1: 'clean', stranger: 'clean', adminB: 'clean' } },
  'GET /v1/tokens': list(url('/v1/tokens?limit=200')),
  'GET /v1/tokens/{id}': { req: (f) => ({ url: `/v1/tokens/${f.tokenA.id}` }), id: (f) => f.tokenA.id, expect: { adminA: 'ok', viewer: 403, stranger: 404, adminB: 404 } },
  'DELETE /v1/tokens/{id}': { req: (f) => ({ url: `/v1/tokens/${f.tokenA.id}`, headers: ifMatch(f.tokenA.etag) }), id: (f) => f.tokenA.id, expect: { viewer: 403, stranger: 404, adminB: 404 } },

  // ---------------------------------------------------------------- admin: organisations and users
  'GET /v1/orgs': { req: url('/v1/orgs'), expect: { viewer: 'ok', stranger: 'clean', adminB: 'clean' } },
  'POST /v1/orgs': { req: () => ({ url: '/v1/orgs', body: { name: `Walk ${unique()}` } }), expect: { adminA: 403, viewer: 403, stranger: 403, adminB: 403 } },
  'GET /v1/orgs/{id}': { req: (f) => ({ url: `/v1/orgs/${f.orgA}` }), id: (f) => f.orgA, expect: { viewer: 'ok', viewer1: 'ok', stranger: 'clean', adminB: 404 } },
  'PATCH /v1/orgs/{id}': { req: (f) => ({ url: `/v1/orgs/${f.orgA}`, body: { name: 'Renamed' }, headers: ifMatch(f.orgAEtag) }), id: (f) => f.orgA, expect: { viewer: 403, stranger: 403, adminB: 404 } },
  'GET /v1/users': { req: url('/v1/users?limit=200'), expect: { adminA: 'ok', viewer: 403, stranger: 404, adminB: 'clean' } },
  'POST /v1/users': { req: () => ({ url: '/v1/users', body: { email: `walk-${unique().toLowerCase()}@walk.example`, name: 'Walk' } }), expect: { viewer: 403, stranger: 404, adminB: 'clean' } },
  'GET /v1/users/{id}': { req: (f) => ({ url: `/v1/users/${f.userA.id}` }), id: (f) => f.userA.id, expect: { adminA: 'ok', viewer: 403, stranger: 404, adminB: 404 } },
  'PATCH /v1/users/{id}': { req: (f) => ({ url: `/v1/users/${f.userA.id}`, body: { name: 'Renamed' }, headers: ifMatch(f.userA.etag) }), id: (f) => f.userA.id, expect: { viewer: 403, stranger: 404, adminB: 404 } },
  'DELETE /v1/users/{id}': { req: (f) => ({ url: `/v1/users/${f.userA.id}`, headers: ifMatch(f.userA.etag) }), id: (f) => f.userA.id, expect: { viewer: 403, stranger: 404, adminB: 404 } },
  'GET /v1/users/{id}/roles': { req: (f) => ({ url: `/v1/users/${f.userA.id}/roles` }), id: (f) => f.userA.id, expect: { adminA: 'ok', viewer: 403, stranger: 404, adminB: 404 } },
  'PUT /v1/users/{id}/roles': { req: (f) => ({ url: `/v1/users/${f.userA.id}/roles`, body: { items: [] }, headers: ifMatch(f.userA.etag) }), id: (f) => f.userA.id, expect: { viewer: 403, stranger: 404, adminB: 404 } },
};

// ----------------------------------------------------------------- the walk

let f: AccessFixture;
let documented: string[];
beforeAll(async () => {
  f = await buildAccessFixture();
  const res = await f.h.apiAs(null)<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
  expect(res.status).toBe(200);
  documented = Object.entries(res.body.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
});
afterAll(() => f?.h.close());

/** Ids `caller` may not see: site 1's for callers outside it, all of organisation A's for another tenant. */
function hiddenFrom(caller: Caller): string[] {
  if (caller === 'adminB') return [...f.site1Ids, ...f.orgAIds, f.site2.id];
  if (caller === 'stranger') return [...f.site1Ids, f.stockDevice.id, f.userA.id, f.tokenA.id];
  if (caller === 'viewer1' || caller === 'auditor1') return [f.site2.id, f.stockDevice.id, f.userA.id, f.tokenA.id];
  return [];
}

const normalise = (p: Problem, from: string, to: string) => ({ type: p.type, title: p.title, status: p.status, code: p.code, detail: p.detail.replaceAll(from, to) });

function randomLike(id: string): string {
  return id.startsWith('token:') ? `token:${randomBytes(6).toString('hex')}` : randomUUID();
}

function replaced<T>(value: T, from: string, to: string): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value).replaceAll(from, to)) as T);
}

describe('every operation of /openapi.json', () => {
  it('is classified here, public or with what each caller gets — and nothing here is stale', () => {
    const known = new Set([...PUBLIC, ...Object.keys(OPERATIONS)]);
    expect(documented.filter((op) => !known.has(op)), 'operations nobody classified: add them to OPERATIONS (or PUBLIC)').toEqual([]);
    const stale = Object.keys(OPERATIONS).filter((op) => !documented.includes(op));
    expect(stale, 'classified operations /openapi.json does not have').toEqual([]);
    for (const [op, spec] of Object.entries(OPERATIONS)) {
      expect(spec.expect.adminB, `${op}: what another tenant gets`).toBeDefined();
      expect(spec.expect.stranger, `${op}: what a caller bound to another site gets`).toBeDefined();
    }
  });

  it('public routes answer without a token', async () => {
    for (const op of ['GET /healthz', 'GET /openapi.json', 'GET /.well-known/jwks.json', 'GET /metrics']) {
      const [method, path] = op.split(' ');
      expect((await f.h.apiAs(null)(method as Method, path)).status, op).toBe(200);
    }
    expect((await f.h.apiAs(null)('GET', '/docs')).status).toBeLessThan(400);
    const login = await f.h.apiAs(null)<Problem>('POST', '/v1/auth/login', { email: 'nobody@walk.example', password: 'wrong password, long enough' });
    expect(login.body.code).toBe('INVALID_CREDENTIALS');
  });

  it.each(Object.keys(OPERATIONS))('%s', async (op) => {
    expect(documented, 'the operation is in /openapi.json').toContain(op);
    const spec = OPERATIONS[op];
    const method = op.split(' ')[0] as Method;
    const expectations: Array<[Caller, Expect]> = [['none', 401], ['expired', 401], ['revoked', 401], ...(Object.entries(spec.expect) as Array<[Caller, Expect]>)];

    // What an authorised caller gets for a resource that does not exist: other callers' 404s must be exactly this.
    let missing: { body: Problem; from: string; to: string } | undefined;
    if (spec.id) {
      const r = spec.req(f);
      const from = spec.id(f);
      const to = randomLike(from);
      const res = await f.as('adminA')<Problem>(method, r.url.replaceAll(from, to), replaced(r.body, from, to), replaced(r.headers, from, to));
      expect(res.status, `${op} for a missing resource: ${res.text}`).toBe(404);
      missing = { body: res.body, from, to };
    }

    for (const [caller, expected] of expectations) {
      const r = spec.req(f);
      const res = await f.as(caller)<Problem>(method, r.url, r.body, r.headers ?? {});
      const label = `${op} as ${caller}: ${res.status} ${res.text.slice(0, 400)}`;
      if (typeof expected === 'number') {
        expect(res.status, label).toBe(expected);
        expect(String(res.headers['content-type']), label).toMatch(/^application\/problem\+json/);
        if (expected === 404 && missing) expect(normalise(res.body, missing.from, missing.to), `${label}: not answered like a missing resource`).toEqual(normalise(missing.body, missing.to, missing.to));
      } else {
        expect(res.status >= 200 && res.status < 300, label).toBe(true);
        if (expected === 'clean') expect(leaked(res.text, hiddenFrom(caller)), `${label}: shows what the caller may not see`).toEqual([]);
      }
    }
  });
});
