import type pg from 'pg';
import type { IdempotencyClaim } from '../../http/idempotency.ts';
import { appendAuditEvents } from '../../audit/append.ts';
import type { AuditActor, AuditEventInput } from '../../audit/types.ts';
import type { Violation } from '../../core/rules/types.ts';
import { withTransaction } from '../../db/tx.ts';
import { enqueueOutbox } from '../../events/outbox.ts';
import type { DeviceViewData } from './device-view.ts';

/** Who asks for a device write, and from where. */
export interface DeviceWriteContext {
  actor: AuditActor;
  requestId: string;
  sourceIp?: string | null;
  /** The request's `Idempotency-Key` claim: marked committed in the write's own transaction. */
  idempotency?: IdempotencyClaim;
}

/** One audited change of one device. */
export interface DeviceEvent {
  deviceId: string;
  orgId: string;
  /** The site the change happens in: the device's site before or after, or an install's target site. */
  siteId: string | null;
  action: string;
  before: DeviceViewData | null;
  after: object | null;
  comment?: string | null;
  changesetId?: string | null;
}

/**
 * The audit record of a device change: chained in its site's scope when the change happens at a
 * site (so a site's history shows the devices that came and went), else in its organisation's.
 */
export function deviceAuditEvent(e: DeviceEvent, ctx: DeviceWriteContext, outcome: 'applied' | 'refused', violations?: Violation[]): AuditEventInput {
  return {
    scope: e.siteId ? `site:${e.siteId}` : `org:${e.orgId}`,
    actor: ctx.actor,
    requestId: ctx.requestId,
    changesetId: e.changesetId ?? null,
    service: 'lifecycle',
    orgId: e.orgId,
    siteId: e.siteId,
    entityType: 'device',
    entityId: e.deviceId,
    action: e.action,
    outcome,
    before: e.before,
    after: e.after,
    comment: e.comment ?? null,
    sourceIp: ctx.sourceIp ?? null,
    violations: violations ?? null,
  };
}

/** Records applied device changes and their outbox events inside the caller's transaction. */
export async function recordApplied(client: pg.PoolClient, events: DeviceEvent[], ctx: DeviceWriteContext, topic: string): Promise<void> {
  await appendAuditEvents(client, events.map((e) => deviceAuditEvent(e, ctx, 'applied')));
  await enqueueOutbox(
    client,
    'lifecycle',
    events.map((e) => ({ topic, key: e.deviceId, payload: { action: e.action, orgId: e.orgId, siteId: e.siteId, before: e.before, after: e.after, requestId: ctx.requestId } })),
  );
}

/** A device write its guards refused: rolled back, then recorded on its own. */
export class DeviceRefusal extends Error {
  constructor(
    readonly violations: Violation[],
    readonly event: DeviceEvent,
  ) {
    super('refused');
  }
}

/** Records a refusal in the audit log, in a transaction of its own (the write's rolled back). */
export async function recordRefusal(pool: pg.Pool, refusal: DeviceRefusal, ctx: DeviceWriteContext): Promise<void> {
  await withTransaction(pool, (client) => appendAuditEvents(client, [deviceAuditEvent(refusal.event, ctx, 'refused', refusal.violations)]));
}

/** The `detail` of a 409 for `violations`. */
export function describeRefusal(what: string, violations: Violation[]): string {
  const errors = violations.filter((v) => v.severity === 'error');
  const first = errors[0] ?? violations[0];
  if (!first) return `${what} was refused.`;
  return errors.length <= 1 ? `${what} was refused: ${first.message}` : `${what} was refused for ${errors.length} reasons; the first: ${first.message}`;
}
