import { ROLE_PERMISSIONS, ROLES, type Role, type RoleBinding } from './principal.ts';

/**
 * Whether `granted` covers `wanted`: some granted binding of the same organisation applies to
 * the wanted scope (org-wide, or the same site) and its role carries every permission of the
 * wanted role. Used to keep an API token no wider than the user who creates it.
 *
 * @example
 * covers([{ orgId: 'o', siteId: null, role: 'engineer' }], { orgId: 'o', siteId: 's1', role: 'viewer' }); // true
 * covers([{ orgId: 'o', siteId: 's1', role: 'engineer' }], { orgId: 'o', siteId: null, role: 'viewer' }); // false
 */
export function covers(granted: readonly RoleBinding[], wanted: RoleBinding): boolean {
  const needs = ROLE_PERMISSIONS[wanted.role];
  return granted.some(
    (g) =>
      g.orgId === wanted.orgId &&
      (g.siteId === null || g.siteId === wanted.siteId) &&
      needs.every((permission) => ROLE_PERMISSIONS[g.role].includes(permission)),
  );
}

/** The bindings of `wanted` that `granted` still covers (a token narrowed to its user's current roles). */
export function narrow(wanted: readonly RoleBinding[], granted: readonly RoleBinding[]): RoleBinding[] {
  return wanted.filter((w) => covers(granted, w));
}

/** Bindings without duplicates, in a stable order (org, site — org-wide first —, role). */
export function normalizeBindings(bindings: readonly RoleBinding[]): RoleBinding[] {
  const seen = new Map<string, RoleBinding>();
  for (const b of bindings) seen.set(`${b.orgId}|${b.siteId ?? ''}|${b.role}`, { orgId: b.orgId, siteId: b.siteId ?? null, role: b.role });
  return [...seen.values()].sort(
    (a, b) =>
      a.orgId.localeCompare(b.orgId) ||
      (a.siteId ?? '').localeCompare(b.siteId ?? '') ||
      ROLES.indexOf(a.role) - ROLES.indexOf(b.role),
  );
}

/** True for one of the five role names. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
