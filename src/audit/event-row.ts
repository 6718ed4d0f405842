import type { Operation } from 'fast-json-patch';
import type { AuditActor, AuditEvent, AuditOutcome, JsonObject } from './types.ts';

/** Column list for reading events; `e` is the alias of `audit.events` in the query. */
export const EVENT_COLUMNS = `e.id, e.scope, e.seq, e.at, e.actor, e.request_id, e.changeset_id, e.service,
  e.org_id, e.site_id, e.site_revision, e.entity_type, e.entity_id, e.action, e.outcome,
  e.before, e.after, e.diff, e.comment, e.source_ip, e.violations, e.prev_hash, e.hash`;

/** A row of `audit.events` as node-postgres returns it. */
export interface EventRow {
  id: string;
  scope: string;
  // bigint columns arrive as numbers from rema's pools but as strings from a bare pg.Pool.
  seq: number | string;
  at: Date | string;
  actor: AuditActor;
  request_id: string | null;
  changeset_id: string | null;
  service: string;
  org_id: string | null;
  site_id: string | null;
  site_revision: number | string | null;
  entity_type: string;
  entity_id: string;
  action: string;
  outcome: AuditOutcome;
  before: JsonObject | null;
  after: JsonObject | null;
  diff: Operation[];
  comment: string | null;
  source_ip: string | null;
  violations: JsonObject[] | null;
  prev_hash: string | null;
  hash: string;
}

/** Maps a stored row to the API shape, normalising types the hash depends on. */
export function rowToEvent(row: EventRow): AuditEvent {
  return {
    id: row.id,
    scope: row.scope,
    seq: Number(row.seq),
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    requestId: row.request_id,
    changesetId: row.changeset_id,
    service: row.service,
    orgId: row.org_id,
    siteId: row.site_id,
    siteRevision: row.site_revision === null ? null : Number(row.site_revision),
    entityType: row.entity_type,
    entityId: row.entity_id,
    action: row.action,
    outcome: row.outcome,
    before: row.before,
    after: row.after,
    diff: row.diff,
    comment: row.comment,
    sourceIp: row.source_ip,
    violations: row.violations,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
