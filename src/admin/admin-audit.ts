import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import { appendAuditEvents } from '../audit/append.ts';
import type { AuditActor, AuditEventInput, AuditOutcome } from '../audit/types.ts';

/** Who made an admin change and from where (what every admin audit event records). */
export interface AdminContext {
  actor: AuditActor;
  requestId: string | null;
  sourceIp: string | null;
}

/** The actor of changes rema makes itself (bootstrap). */
export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: 'rema-bootstrap', name: 'rema bootstrap' };

/** The admin context of an authenticated request. */
export const adminContext = (request: FastifyRequest): AdminContext => ({ actor: request.actor, requestId: String(request.id), sourceIp: request.ip });

export interface AdminChange {
  orgId: string;
  entityType: 'org' | 'user' | 'api_token';
  entityId: string;
  action: string;
  before?: object | null;
  after?: object | null;
  outcome?: AuditOutcome;
  comment?: string | null;
}

/**
 * Appends one audit event per change to the organisation's chain (`org:<id>`), service
 * `admin`, inside the caller's transaction.
 */
export async function auditAdmin(client: pg.PoolClient, ctx: AdminContext, changes: AdminChange[]): Promise<void> {
  const events: AuditEventInput[] = changes.map((c) => ({
    scope: `org:${c.orgId}`,
    actor: ctx.actor,
    requestId: ctx.requestId,
    service: 'admin',
    orgId: c.orgId,
    entityType: c.entityType,
    entityId: c.entityId,
    action: c.action,
    outcome: c.outcome ?? 'applied',
    before: c.before ?? null,
    after: c.after ?? null,
    comment: c.comment ?? null,
    sourceIp: ctx.sourceIp,
  }));
  await appendAuditEvents(client, events);
}
