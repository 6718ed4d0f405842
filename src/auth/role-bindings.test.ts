import { describe, expect, it } from 'vitest';
import { covers, narrow, normalizeBindings } from './role-bindings.ts';
import type { RoleBinding } from './principal.ts';

const org = 'org-a';
const b = (role: RoleBinding['role'], siteId: string | null = null, orgId = org): RoleBinding => ({ orgId, siteId, role });

describe('covers', () => {
  it('lets an org-wide binding cover the same or a weaker role anywhere in the organisation', () => {
    expect(covers([b('engineer')], b('engineer'))).toBe(true);
    expect(covers([b('engineer')], b('viewer', 'site-1'))).toBe(true);
    expect(covers([b('admin')], b('operator', 'site-2'))).toBe(true);
  });

  it('refuses a stronger or different role, a wider scope and another organisation', () => {
    expect(covers([b('engineer')], b('operator'))).toBe(false); // lifecycle.write is not engineering
    expect(covers([b('viewer')], b('auditor'))).toBe(false);
    expect(covers([b('admin', 'site-1')], b('viewer'))).toBe(false); // site binding cannot grant org-wide
    expect(covers([b('admin', 'site-1')], b('viewer', 'site-2'))).toBe(false);
    expect(covers([b('admin')], b('viewer', null, 'org-b'))).toBe(false);
  });

  it('narrows a token to what its user still holds', () => {
    expect(narrow([b('engineer'), b('viewer', 'site-1')], [b('viewer')])).toEqual([b('viewer', 'site-1')]);
  });

  it('normalises bindings: no duplicates, org-wide first', () => {
    expect(normalizeBindings([b('viewer', 's'), b('admin'), b('viewer', 's')])).toEqual([b('admin'), b('viewer', 's')]);
  });
});
