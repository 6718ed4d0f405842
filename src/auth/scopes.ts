/**
 * Where a principal holds a permission, as a list of scopes, and the SQL condition that keeps a
 * list query inside them — so lists are filtered in the query, before paging, never after.
 */
import { ROLE_PERMISSIONS, type Permission, type Principal } from './principal.ts';

/** An organisation (`siteId: null`: all of it) or one site of it. */
export interface Scope {
  orgId: string;
  siteId: string | null;
}

/**
 * The scopes in which `p` holds `permission`: one per binding whose role grants it, site
 * bindings dropped where an org-wide one covers them. `null` for a service principal: everything.
 *
 * @example
 * grantedScopes(siteEngineer, 'config.write'); // [{ orgId: 'o1', siteId: 's1' }]
 * grantedScopes(siteEngineer, 'audit.read');   // []
 */
export function grantedScopes(p: Principal, permission: Permission): Scope[] | null {
  if (p.kind === 'service') return null;
  const granting = p.bindings.filter((b) => ROLE_PERMISSIONS[b.role].includes(permission));
  const orgWide = new Set(granting.filter((b) => b.siteId === null).map((b) => b.orgId));
  const out = new Map<string, Scope>();
  for (const b of granting) {
    if (b.siteId !== null && orgWide.has(b.orgId)) continue;
    out.set(`${b.orgId}/${b.siteId ?? '*'}`, { orgId: b.orgId, siteId: b.siteId });
  }
  return [...out.values()];
}

/**
 * A SQL condition true for the rows inside `scopes`, given the expressions of a row's
 * organisation and site; values go through `bind` (which returns the placeholder). `null`
 * scopes (a service) match every row, an empty list none.
 *
 * @example
 * const params: unknown[] = [];
 * const where = scopeCondition(grantedScopes(p, 'read'), { org: 's.org_id', site: 's.id' }, (v) => `$${params.push(v)}`);
 * // "(s.org_id = ANY($1::uuid[]) OR (s.org_id, s.id) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[])))"
 */
export function scopeCondition(scopes: readonly Scope[] | null, columns: { org: string; site: string }, bind: (value: unknown) => string): string {
  if (scopes === null) return 'true';
  const orgs = scopes.filter((s) => s.siteId === null).map((s) => s.orgId);
  const sites = scopes.filter((s): s is Scope & { siteId: string } => s.siteId !== null);
  const parts: string[] = [];
  if (orgs.length > 0) parts.push(`${columns.org} = ANY(${bind(orgs)}::uuid[])`);
  if (sites.length > 0) {
    const pairs = `SELECT * FROM unnest(${bind(sites.map((s) => s.orgId))}::uuid[], ${bind(sites.map((s) => s.siteId))}::uuid[])`;
    parts.push(`(${columns.org}, ${columns.site}) IN (${pairs})`);
  }
  return parts.length === 0 ? 'false' : `(${parts.join(' OR ')})`;
}

/**
 * The organisation to authorise against when a resource's organisation is gone (a change set
 * or configuration version of a deleted site): the nil UUID, which no binding names, so that
 * only service principals reach it and everyone else gets the 404 of a missing resource.
 */
export const NO_ORG = '00000000-0000-0000-0000-000000000000';
