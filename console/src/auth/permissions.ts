/**
 * What a principal may do, decided like the server's `decide` (docs/security.md): a binding
 * `{orgId, siteId|null, role}` applies org-wide or on one site; a role grants permissions.
 * The console only hides or disables controls with this — the server still decides.
 */
import type { Me, Role, RoleBinding } from '../api/types.ts';

export type Permission = 'read' | 'config.write' | 'lifecycle.write' | 'deploy' | 'sites.manage' | 'admin.manage' | 'audit.read';

// The API does not publish the role table; this mirrors docs/security.md.
const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'lifecycle.write', 'deploy'],
  engineer: ['read', 'config.write'],
  admin: ['read', 'config.write', 'lifecycle.write', 'deploy', 'sites.manage', 'admin.manage', 'audit.read'],
  auditor: ['read', 'audit.read'],
};

const LABEL: Record<Permission, string> = {
  read: 'read',
  'config.write': 'change configuration',
  'lifecycle.write': 'change device lifecycle',
  deploy: 'deploy',
  'sites.manage': 'manage sites',
  'admin.manage': 'administer users and tokens',
  'audit.read': 'read the audit log',
};

export interface Scope {
  orgId?: string;
  siteId?: string | null;
}

function applicable(me: Me, scope: Scope): RoleBinding[] {
  if (me.kind === 'service') return [];
  return me.bindings.filter((b) => (!scope.orgId || b.orgId === scope.orgId) && (b.siteId === null || (scope.siteId != null && b.siteId === scope.siteId)));
}

/** Whether `me` holds `permission` in `scope` (org-wide when `siteId` is omitted). */
export function can(me: Me | null, permission: Permission, scope: Scope = {}): boolean {
  if (!me) return false;
  if (me.kind === 'service') return true;
  return applicable(me, scope).some((b) => GRANTS[b.role].includes(permission));
}

/** A sentence saying why `me` may not do it, or null when it may. */
export function whyNot(me: Me | null, permission: Permission, scope: Scope = {}, where = scope.siteId ? 'this site' : 'the organisation'): string | null {
  if (can(me, permission, scope)) return null;
  const roles = (Object.keys(GRANTS) as Role[]).filter((r) => GRANTS[r].includes(permission));
  const held = me ? applicable(me, scope).map((b) => b.role) : [];
  const have = held.length ? `you are ${[...new Set(held)].join(', ')} there` : `you have no role on ${where}`;
  return `To ${LABEL[permission]} you need the ${roles.join(' or ')} role on ${where}; ${have}.`;
}

/** Whether `me` may see the site at all (some binding applies to it). */
export function seesSite(me: Me | null, site: { id: string; orgId: string }): boolean {
  return can(me, 'read', { orgId: site.orgId, siteId: site.id });
}

export const rolesGranting = (permission: Permission): Role[] => (Object.keys(GRANTS) as Role[]).filter((r) => GRANTS[r].includes(permission));
export const ALL_ROLES = Object.keys(GRANTS) as Role[];

/** Whether any binding of `me` (org-wide or on some site) grants `permission`. */
export function canSomewhere(me: Me | null, permission: Permission): boolean {
  if (!me) return false;
  return me.kind === 'service' || me.bindings.some((b) => GRANTS[b.role].includes(permission));
}
