import { describe, expect, it } from 'vitest';
import type { Principal } from './principal.ts';
import { grantedScopes, scopeCondition } from './scopes.ts';

const ORG = '11111111-1111-4111-8111-111111111111';
const OTHER = '33333333-3333-4333-8333-333333333333';
const S1 = '22222222-2222-4222-8222-222222222222';
const S2 = '44444444-4444-4444-8444-444444444444';
const user = (bindings: Principal['bindings']): Principal => ({ kind: 'user', id: 'u', name: 'U', orgId: ORG, bindings });

describe('grantedScopes', () => {
  it('lists the bindings whose role grants the permission, dropping sites an org-wide one covers', () => {
    const p = user([
      { orgId: ORG, siteId: S1, role: 'engineer' },
      { orgId: ORG, siteId: S2, role: 'viewer' },
      { orgId: OTHER, siteId: null, role: 'engineer' },
      { orgId: OTHER, siteId: S1, role: 'admin' },
    ]);
    expect(grantedScopes(p, 'config.write')).toEqual([
      { orgId: ORG, siteId: S1 },
      { orgId: OTHER, siteId: null },
    ]);
    expect(grantedScopes(p, 'read')).toEqual([
      { orgId: ORG, siteId: S1 },
      { orgId: ORG, siteId: S2 },
      { orgId: OTHER, siteId: null },
    ]);
    expect(grantedScopes(p, 'audit.read')).toEqual([{ orgId: OTHER, siteId: S1 }]);
    expect(grantedScopes(user([{ orgId: ORG, siteId: null, role: 'viewer' }]), 'deploy')).toEqual([]);
  });

  it('is null (everything) for a service', () => {
    expect(grantedScopes({ kind: 'service', id: 'lifecycle', name: 'lifecycle', orgId: null, bindings: [] }, 'admin.manage')).toBeNull();
  });
});

describe('scopeCondition', () => {
  const build = (scopes: Parameters<typeof scopeCondition>[0]) => {
    const params: unknown[] = [];
    const sql = scopeCondition(scopes, { org: 's.org_id', site: 's.id' }, (v) => `$${params.push(v)}`);
    return { sql, params };
  };

  it('matches every row for a service and none for no scope', () => {
    expect(build(null)).toEqual({ sql: 'true', params: [] });
    expect(build([])).toEqual({ sql: 'false', params: [] });
  });

  it('binds organisations and (organisation, site) pairs, never inlining a value', () => {
    expect(build([{ orgId: ORG, siteId: null }, { orgId: OTHER, siteId: S1 }])).toEqual({
      sql: '(s.org_id = ANY($1::uuid[]) OR (s.org_id, s.id) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[])))',
      params: [[ORG], [OTHER], [S1]],
    });
  });
});
