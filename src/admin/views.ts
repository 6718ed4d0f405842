import type { RoleBinding } from '../auth/principal.ts';
import { etagOf } from '../http/etag.ts';
import type { ApiToken } from './api-tokens.ts';
import type { User } from './users-store.ts';

/** An organisation (tenant). */
export interface Org {
  id: string;
  name: string;
  platform: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface OrgRow {
  id: string;
  name: string;
  platform: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const orgFromRow = (r: OrgRow): Org => ({
  id: r.id,
  name: r.name,
  platform: r.platform,
  version: r.version,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export const orgView = (o: Org) => ({ ...o });

/** A role binding as the API shows it. */
export const bindingView = (b: RoleBinding) => ({ orgId: b.orgId, siteId: b.siteId, role: b.role });

/** A user as the API (and the audit log) shows them: never the password hash. */
export const userView = (u: Omit<User, 'passwordHash' | 'tokensValidAfter'> & { passwordHash?: unknown }) => ({
  id: u.id,
  orgId: u.orgId,
  email: u.email,
  name: u.name,
  disabled: u.disabled,
  roles: u.roles.map(bindingView),
  version: u.version,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
});

/** `active`, `expired` or `revoked`, as of now. */
export function tokenStatus(t: Pick<ApiToken, 'expiresAt' | 'revokedAt'>, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/** An API token as the API shows it: never the secret or its hash. */
export const tokenView = (t: ApiToken) => ({
  id: t.id,
  orgId: t.orgId,
  userId: t.userId,
  name: t.name,
  prefix: t.prefix,
  roles: t.roles.map(bindingView),
  status: tokenStatus(t),
  expiresAt: t.expiresAt,
  revokedAt: t.revokedAt,
  lastUsedAt: t.lastUsedAt,
  createdAt: t.createdAt,
  version: t.version,
});

export const orgEtag = (o: { id: string; version: number }) => etagOf('org', o.id, o.version);
export const userEtag = (u: { id: string; version: number }) => etagOf('user', u.id, u.version);
export const tokenEtag = (t: { id: string; version: number }) => etagOf('token', t.id, t.version);
