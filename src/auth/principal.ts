import type { AuditActor } from '../audit/types.ts';

/**
 * Roles, bound org-wide (`siteId: null`) or to one site:
 * - viewer: reads
 * - operator: device lifecycle and deployments
 * - engineer: configuration (sites' assets, cables, change sets)
 * - admin: users, role bindings, tokens, sites — and everything above
 * - auditor: the audit log
 */
export type Role = 'viewer' | 'operator' | 'engineer' | 'admin' | 'auditor';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'engineer', 'admin', 'auditor'];

export interface RoleBinding {
  orgId: string;
  /** null: the whole organisation. */
  siteId: string | null;
  role: Role;
}

/** Who is calling, as established by authentication. */
export interface Principal {
  kind: 'user' | 'token' | 'service';
  /** user id, token id, or service name */
  id: string;
  name: string;
  /** The organisation the principal belongs to (a service: none). */
  orgId: string | null;
  bindings: RoleBinding[];
  /** For an API token: the user it acts for. */
  onBehalfOf?: { id: string; name: string };
}

export type Permission =
  | 'read' // any resource of the scope
  | 'config.write' // assets, cables, change sets, configuration
  | 'lifecycle.write' // devices and their transitions
  | 'deploy' // deployments
  | 'sites.manage' // create, rename, delete sites
  | 'admin.manage' // users, role bindings, tokens of the org
  | 'audit.read'; // the audit log

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'lifecycle.write', 'deploy'],
  engineer: ['read', 'config.write'],
  admin: ['read', 'config.write', 'lifecycle.write', 'deploy', 'sites.manage', 'admin.manage', 'audit.read'],
  auditor: ['read', 'audit.read'],
};

/** The audit actor of a principal. */
export function actorOf(p: Principal): AuditActor {
  const type = p.kind === 'service' ? 'system' : p.kind;
  return p.onBehalfOf
    ? { type, id: p.id, name: p.name, onBehalfOf: { type: 'user', id: p.onBehalfOf.id, name: p.onBehalfOf.name } }
    : { type, id: p.id, name: p.name };
}

export type Decision = 'allow' | 'forbidden' | 'not-found';

/**
 * Whether `p` may do `permission` on a resource of `scope`. A principal with no binding in the
 * resource's organisation gets 'not-found': another tenant's resources look exactly like
 * resources that do not exist. A service principal may do anything.
 */
export function decide(p: Principal, permission: Permission, scope: { orgId: string; siteId?: string | null }): Decision {
  if (p.kind === 'service') return 'allow';
  const inOrg = p.bindings.filter((b) => b.orgId === scope.orgId);
  if (inOrg.length === 0) return 'not-found';
  const applicable = inOrg.filter((b) => b.siteId === null || (scope.siteId != null && b.siteId === scope.siteId));
  if (applicable.length === 0) return 'not-found';
  return applicable.some((b) => ROLE_PERMISSIONS[b.role].includes(permission)) ? 'allow' : 'forbidden';
}

/** Organisations in which `p` holds any binding (for filtering lists). */
export function visibleOrgs(p: Principal): string[] {
  return [...new Set(p.bindings.map((b) => b.orgId))];
}

/**
 * The site filter for lists: `null` when the principal sees every site of `orgId`, else the
 * ids of the sites it is bound to.
 */
export function visibleSites(p: Principal, orgId: string): string[] | null {
  if (p.kind === 'service') return null;
  const inOrg = p.bindings.filter((b) => b.orgId === orgId);
  if (inOrg.some((b) => b.siteId === null)) return null;
  return inOrg.map((b) => b.siteId as string);
}
