import type { Operation } from 'fast-json-patch';

/** Who performed a change, or on whose behalf a token or the system acted. */
export interface AuditPrincipal {
  type: 'user' | 'token' | 'system';
  id: string;
  name: string;
}

/** The actor of an event: a principal, optionally acting for another (a token for its user). */
export interface AuditActor extends AuditPrincipal {
  onBehalfOf?: AuditPrincipal;
}

/** `applied` = committed change; `refused` = blocked by validation; `denied` = failed auth. */
export type AuditOutcome = 'applied' | 'refused' | 'denied';

/** A JSON object as stored in a jsonb column and read back. */
export type JsonObject = { [key: string]: unknown };

/**
 * What a service hands to `appendAuditEvents`: one changed entity. `before`/`after`
 * accept any JSON-serialisable object (they are stored as JSON, so `undefined` fields
 * vanish and Dates become ISO strings); `null`/absent means "did not exist".
 */
export interface AuditEventInput {
  /** Chain the event belongs to: `site:<uuid>` for site data, `org:<uuid>` otherwise. */
  scope: string;
  actor: AuditActor;
  requestId?: string | null;
  changesetId?: string | null;
  /** Service that made the change: `config`, `lifecycle`, `admin`. */
  service: string;
  orgId?: string | null;
  siteId?: string | null;
  /** The site revision the change produced (or was refused at). */
  siteRevision?: number | null;
  entityType: string;
  entityId: string;
  /** `create`, `update`, `delete`, `connect`, `disconnect`, `login`, … */
  action: string;
  outcome: AuditOutcome;
  before?: object | null;
  after?: object | null;
  comment?: string | null;
  sourceIp?: string | null;
  /** Rule violations that refused the change (outcome `refused`). */
  violations?: readonly object[] | null;
}

/**
 * The fields the chain hash covers, in stored form. Everything except `id`, `hash` and
 * `prevHash` (which prefixes the hash input instead). See `hashEvent`.
 */
export interface AuditHashedFields {
  scope: string;
  seq: number;
  /** ISO 8601, UTC, millisecond precision: `2025-01-31T09:15:02.123Z`. */
  at: string;
  actor: AuditActor;
  requestId: string | null;
  changesetId: string | null;
  service: string;
  orgId: string | null;
  siteId: string | null;
  siteRevision: number | null;
  entityType: string;
  entityId: string;
  action: string;
  outcome: AuditOutcome;
  before: JsonObject | null;
  after: JsonObject | null;
  /** RFC 6902 JSON Patch turning `before` into `after`. */
  diff: Operation[];
  comment: string | null;
  sourceIp: string | null;
  violations: JsonObject[] | null;
}

/** A stored audit event. */
export interface AuditEvent extends AuditHashedFields {
  id: string;
  /** Hash of the previous event in the scope; `null` for `seq` 1. */
  prevHash: string | null;
  /** sha256 hex of `prevHash` + canonical JSON of the hashed fields. */
  hash: string;
}
