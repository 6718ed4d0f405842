import type pg from 'pg';
import { scopeCondition, type Scope } from '../auth/scopes.ts';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-row.ts';
import type { AuditEvent, AuditOutcome } from './types.ts';
import { isUuid } from '../core/ids.ts';

/** Which events to return. Every field narrows the result (AND). */
export interface AuditEventFilter {
  siteId?: string;
  orgId?: string;
  entityId?: string;
  entityType?: string;
  /** `actor.id` — the user or token that acted. */
  actorId?: string;
  action?: string;
  outcome?: AuditOutcome;
  changesetId?: string;
  requestId?: string;
  /** Inclusive lower bound on `at` (ISO 8601). */
  from?: string;
  /** Exclusive upper bound on `at` (ISO 8601). */
  to?: string;
  /**
   * Only events the caller may see: those of these organisations and sites, and with `orgless`
   * the events of no organisation (chain `auth:global`). Omitted: every event (services, the CLI).
   */
  visibleTo?: AuditVisibility;
}

/** Which events a caller may see (see {@link AuditEventFilter.visibleTo}). */
export interface AuditVisibility {
  scopes: readonly Scope[];
  orgless: boolean;
}

/** The SQL condition of `v` on audit.events `e`. */
export function visibilityCondition(v: AuditVisibility, bind: (value: unknown) => string): string {
  const inScopes = scopeCondition(v.scopes, { org: 'e.org_id', site: 'e.site_id' }, bind);
  return v.orgless ? `(${inScopes} OR e.org_id IS NULL)` : inScopes;
}

/** A page request: a filter, a page size (1–1000) and the cursor of the previous page. */
export interface AuditEventQuery extends AuditEventFilter {
  limit: number;
  cursor?: string;
}

/** One page, newest first; `nextCursor` is null on the last page. */
export interface AuditEventPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

/** Thrown for a malformed cursor or filter; `code` is stable for the HTTP error registry. */
export class AuditQueryError extends Error {
  readonly code: 'INVALID_CURSOR' | 'INVALID_FILTER';
  /** The filter fields at fault, each with what is wrong with it, for an INVALID_FILTER. */
  readonly fields: ReadonlyArray<{ field: string; message: string }>;
  constructor(code: 'INVALID_CURSOR' | 'INVALID_FILTER', message: string, fields: ReadonlyArray<{ field: string; message: string }> = []) {
    super(message);
    this.name = 'AuditQueryError';
    this.code = code;
    this.fields = fields;
  }
}

type Queryable = Pick<pg.Pool, 'query'>;

const OUTCOMES = new Set(['applied', 'refused', 'denied']);
export const MAX_AUDIT_PAGE = 1000;

/** The position after which the next page starts: the last item's `at` and `id`. */
function encodeCursor(event: AuditEvent): string {
  return Buffer.from(JSON.stringify([event.at, event.id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      if (typeof at === 'string' && typeof id === 'string' && isUuid(id) && !Number.isNaN(Date.parse(at))) {
        return { at: new Date(at).toISOString(), id };
      }
    }
  } catch {
    // fall through: any decoding failure is the same client error
  }
  throw new AuditQueryError('INVALID_CURSOR', 'cursor is not one this API returned');
}

/** Years PostgreSQL's timestamptz and an ISO string both hold (there is no year 0). */
const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** `value` as an ISO instant, or the reason it is none. */
function isoTime(name: string, value: string): { iso: string } | { problem: string } {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return { problem: `${name} is not a date-time: ${value}` };
  if (ms < MIN_MS || ms > MAX_MS) return { problem: `${name} is outside the years 0001–9999: ${value}` };
  return { iso: new Date(ms).toISOString() };
}

/** Builds the WHERE clause; values only ever travel as bind parameters. Every bad filter field is named in the one error it throws. */
function whereClause(filter: AuditEventFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const problems: Array<{ field: string; message: string }> = [];
  const bind = (value: unknown) => `$${params.push(value)}`;
  const uuid = (name: string, value: string) => {
    if (!isUuid(value)) problems.push({ field: name, message: `${name} is not a uuid: ${value}` });
    return bind(value);
  };
  const instant = (name: string, value: string) => {
    const t = isoTime(name, value);
    if ('problem' in t) problems.push({ field: name, message: t.problem });
    return bind('iso' in t ? t.iso : null);
  };
  if (filter.siteId !== undefined) where.push(`e.site_id = ${uuid('siteId', filter.siteId)}`);
  if (filter.orgId !== undefined) where.push(`e.org_id = ${uuid('orgId', filter.orgId)}`);
  if (filter.changesetId !== undefined) where.push(`e.changeset_id = ${uuid('changesetId', filter.changesetId)}`);
  if (filter.entityId !== undefined) where.push(`e.entity_id = ${bind(filter.entityId)}`);
  if (filter.entityType !== undefined) where.push(`e.entity_type = ${bind(filter.entityType)}`);
  if (filter.actorId !== undefined) where.push(`e.actor->>'id' = ${bind(filter.actorId)}`);
  if (filter.action !== undefined) where.push(`e.action = ${bind(filter.action)}`);
  if (filter.requestId !== undefined) where.push(`e.request_id = ${bind(filter.requestId)}`);
  if (filter.outcome !== undefined) {
    if (!OUTCOMES.has(filter.outcome)) problems.push({ field: 'outcome', message: `unknown outcome: ${filter.outcome}` });
    where.push(`e.outcome = ${bind(filter.outcome)}`);
  }
  if (filter.from !== undefined) where.push(`e.at >= ${instant('from', filter.from)}::timestamptz`);
  if (filter.to !== undefined) where.push(`e.at < ${instant('to', filter.to)}::timestamptz`);
  if (filter.visibleTo !== undefined) where.push(visibilityCondition(filter.visibleTo, bind));
  if (problems.length > 0) throw new AuditQueryError('INVALID_FILTER', problems.map((p) => p.message).join('; '), problems);
  return where;
}

/**
 * Throws the `AuditQueryError` (INVALID_FILTER) that a query with `filter` would throw, before
 * any is sent: an export checks it before its first byte goes out.
 */
export function checkAuditFilter(filter: AuditEventFilter): void {
  whereClause(filter, []);
}

/**
 * Returns one page of audit events matching `query`, newest first (by `at`, then `id`).
 * Pass the returned `nextCursor` back as `cursor` for the next page; every event is
 * returned exactly once, even while new events are being appended (they sort before the
 * cursor). The cursor is opaque base64url; a malformed one throws `AuditQueryError` with
 * `code = 'INVALID_CURSOR'`.
 *
 * @example
 * const page = await queryAuditEvents(pool, { siteId, outcome: 'refused', limit: 50 });
 * const next = page.nextCursor && await queryAuditEvents(pool, { siteId, outcome: 'refused', limit: 50, cursor: page.nextCursor });
 */
export async function queryAuditEvents(pool: Queryable, query: AuditEventQuery): Promise<AuditEventPage> {
  if (!Number.isInteger(query.limit) || query.limit < 1) {
    throw new AuditQueryError('INVALID_FILTER', `limit must be a positive integer`);
  }
  const limit = Math.min(query.limit, MAX_AUDIT_PAGE);
  const params: unknown[] = [];
  const where = whereClause(query, params);
  if (query.cursor !== undefined) {
    const { at, id } = decodeCursor(query.cursor);
    where.push(`(e.at, e.id) < ($${params.push(at)}::timestamptz, $${params.push(id)}::uuid)`);
  }
  // One extra row tells whether another page exists without a count query.
  const sql = `SELECT ${EVENT_COLUMNS} FROM audit.events e
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY e.at DESC, e.id DESC LIMIT $${params.push(limit + 1)}`;
  const { rows } = await pool.query<EventRow>(sql, params);
  const items = rows.slice(0, limit).map(rowToEvent);
  const nextCursor = rows.length > limit ? encodeCursor(items[items.length - 1]) : null;
  return { items, nextCursor };
}

/**
 * Yields every event matching `filter`, newest first, fetching `batchSize` rows per query
 * (default 500) — for NDJSON/CSV exports of any size with flat memory.
 *
 * @example
 * for await (const event of streamAuditEvents(pool, { siteId })) res.write(JSON.stringify(event) + '\n');
 */
export async function* streamAuditEvents(
  pool: Queryable,
  filter: AuditEventFilter,
  opts: { batchSize?: number } = {},
): AsyncGenerator<AuditEvent> {
  const limit = Math.min(opts.batchSize ?? 500, MAX_AUDIT_PAGE);
  let cursor: string | undefined;
  do {
    const page = await queryAuditEvents(pool, { ...filter, limit, cursor });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
