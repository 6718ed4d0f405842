import type { FastifyRequest } from 'fastify';
import { principalOf } from '../auth/install-auth.ts';
import { decide, type Principal } from '../auth/principal.ts';
import { ApiError } from '../http/errors.ts';
import { PLATFORM_ORG_ID } from './bootstrap.ts';

/**
 * The organisation the admin API acts in for this request: the caller's own. Service
 * principals have none and are refused here (they use introspection and the event feed).
 */
export function callerOrg(request: FastifyRequest): string {
  const p = principalOf(request);
  if (p.orgId === null) throw new ApiError('FORBIDDEN', 'The admin API acts within your organisation; service principals have none.');
  return p.orgId;
}

/** The user a principal is or acts for: a user itself, an API token's creator; none for services. */
export function actingUserId(p: Principal): string | null {
  if (p.kind === 'user') return p.id;
  if (p.kind === 'token') return p.onBehalfOf?.id ?? null;
  return null;
}

/** Admins of the platform organisation manage the list of organisations. */
export function isPlatformAdmin(p: Principal): boolean {
  return decide(p, 'admin.manage', { orgId: PLATFORM_ORG_ID }) === 'allow';
}

/** Whether the caller administers `orgId` (org-wide admin.manage there). */
export function managesOrg(p: Principal, orgId: string): boolean {
  return decide(p, 'admin.manage', { orgId }) === 'allow';
}
