import { describe, expect, it } from 'vitest';
import { claimsOf, principalFromClaims } from './jwt-claims.ts';
import type { Principal } from './principal.ts';

describe('access token claims', () => {
  it('round-trip a user and a service', () => {
    const user: Principal = { kind: 'user', id: 'u', name: 'Una', orgId: 'o', bindings: [{ orgId: 'o', siteId: 's', role: 'operator' }] };
    const service: Principal = { kind: 'service', id: 'lifecycle', name: 'lifecycle', orgId: null, bindings: [] };
    expect(principalFromClaims(claimsOf(user))).toEqual(user);
    expect(principalFromClaims(claimsOf(service))).toEqual(service);
  });

  it('reject claims that are not rema\'s', () => {
    expect(principalFromClaims({ sub: 'u', kind: 'admin', name: 'x', org: 'o', rb: [] })).toBeUndefined();
    expect(principalFromClaims({ sub: 'u', kind: 'user', name: 'x', org: null, rb: [] })).toBeUndefined();
    expect(principalFromClaims({ sub: 'u', kind: 'user', name: 'x', org: 'o', rb: [['o', null, 'root']] })).toBeUndefined();
  });

  it('never describe an API token', () => {
    expect(() => claimsOf({ kind: 'token', id: 't', name: 't', orgId: 'o', bindings: [] })).toThrow(/opaque/);
  });
});
