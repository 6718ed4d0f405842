import { Readable } from 'node:stream';
import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PLATFORM_ORG_ID } from '../admin/bootstrap.ts';
import { scopesOf } from '../auth/install-auth.ts';
import type { Permission } from '../auth/principal.ts';
import { isUuid } from '../core/ids.ts';
import type { HttpApp } from '../http/app.ts';
import { ApiError } from '../http/errors.ts';
import { AuditQueryError, checkAuditFilter, MAX_AUDIT_PAGE, queryAuditEvents, streamAuditEvents, type AuditEventFilter, type AuditVisibility } from './query.ts';
import { chainsVisibleTo, verifyAuditChains } from './verify.ts';
import type { AuditEvent } from './types.ts';

const Uuid = Type.String({ format: 'uuid' });
const AuditFilter = Type.Object({
  siteId: Type.Optional(Uuid),
  orgId: Type.Optional(Uuid),
  entityId: Type.Optional(Type.String({ maxLength: 128 })),
  entityType: Type.Optional(Type.String({ maxLength: 64 })),
  actorId: Type.Optional(Type.String({ maxLength: 128 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(Type.Union([Type.Literal('applied'), Type.Literal('refused'), Type.Literal('denied')])),
  changesetId: Type.Optional(Uuid),
  requestId: Type.Optional(Type.String({ maxLength: 128 })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound of `at`' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound of `at`' })),
});
const AuditEventView = Type.Object({}, { additionalProperties: true, description: 'An audit event (see docs/audit.md)' });

const CSV_COLUMNS = ['at', 'scope', 'seq', 'service', 'actorType', 'actorId', 'actorName', 'requestId', 'changesetId', 'siteId', 'siteRevision', 'entityType', 'entityId', 'action', 'outcome', 'comment', 'sourceIp', 'diff', 'violations', 'hash'] as const;

/**
 * The events the caller may see with `permission`: those of the organisations and sites where
 * it holds it; events of no organisation (failed logins of unknown accounts, refused
 * service-token requests: chain `auth:global`) to org-wide holders in the platform organisation.
 * Undefined for a service: every event. With `required`, 403 when it holds the permission nowhere.
 */
function visibility(request: FastifyRequest, permission: Permission, opts: { required?: boolean } = {}): AuditVisibility | undefined {
  const scopes = scopesOf(request, permission, opts);
  if (scopes === null) return undefined;
  return { scopes, orgless: scopes.some((s) => s.orgId === PLATFORM_ORG_ID && s.siteId === null) };
}

/** The audit log: query, export (NDJSON, CSV), an entity's history and chain verification. */
export function auditRoutes(app: HttpApp, deps: { pool: pg.Pool }) {
  const tags = ['audit'];

  app.get(
    '/v1/audit',
    {
      schema: {
        tags,
        summary: 'Audit events, newest first; `format=ndjson|csv` exports every match',
        querystring: Type.Intersect([
          AuditFilter,
          Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 }),
            cursor: Type.Optional(Type.String({ maxLength: 512 })),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')])),
          }),
        ]),
        response: { 200: Type.Object({ items: Type.Array(AuditEventView), nextCursor: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request, reply) => {
      const { limit, cursor, format, ...query } = request.query;
      const filter: AuditEventFilter = { ...query, ...lowerCaseIds(query), visibleTo: visibility(request, 'audit.read', { required: true }) };
      if (format === 'ndjson' || format === 'csv') {
        // Refused before the first byte: once the export streams, its status is sent.
        try {
          checkAuditFilter(filter);
        } catch (err) {
          throw translate(err);
        }
        const lines = exportLines(deps.pool, filter, format);
        reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
          .header('Content-Disposition', `attachment; filename="audit.${format === 'csv' ? 'csv' : 'ndjson'}"`);
        return reply.send(Readable.from(lines) as never);
      }
      try {
        return await queryAuditEvents(deps.pool, { ...filter, limit, cursor });
      } catch (err) {
        throw translate(err);
      }
    },
  );

  app.get(
    '/v1/assets/:id/history',
    {
      schema: {
        tags,
        summary: 'Every audit event about one asset, newest first',
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 512 })) }),
        response: { 200: Type.Object({ items: Type.Array(AuditEventView), nextCursor: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request) => {
      // The asset's history is part of reading the asset (the console shows it to engineers): 'read' on its site, not audit.read.
      const { limit, cursor } = request.query;
      // Only events about assets, and never org-less ones: with mere 'read' a caller must not reach
      // the history of users, tokens or logins by passing their id here.
      const scoped = visibility(request, 'read');
      const visibleTo = scoped && { ...scoped, orgless: false };
      let page;
      try {
        page = await queryAuditEvents(deps.pool, { entityId: request.params.id, entityType: 'asset', limit, cursor, visibleTo });
      } catch (err) {
        throw translate(err);
      }
      if (page.items.length === 0) {
        // An empty page is 404 unless the caller can see some event of this asset at all (a
        // cursor past the last event): the answer must not depend on what the cursor says.
        const any = cursor === undefined ? page : await queryAuditEvents(deps.pool, { entityId: request.params.id, entityType: 'asset', limit: 1, visibleTo });
        if (any.items.length === 0) throw new ApiError('NOT_FOUND', `Asset ${request.params.id} does not exist.`);
      }
      return page;
    },
  );

  app.get(
    '/v1/audit/verify',
    {
      schema: {
        tags,
        summary: 'Walk the hash chains and report any tampering',
        querystring: Type.Object({ siteId: Type.Optional(Uuid) }),
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            scopes: Type.Integer(),
            events: Type.Integer(),
            problems: Type.Array(Type.Object({ scope: Type.String(), seq: Type.Integer(), eventId: Type.String(), problem: Type.String(), detail: Type.String() })),
          }),
        },
      },
    },
    async (request) => {
      // The chains of the events the caller may audit; a site it may not audit verifies like a site with no events.
      const { siteId } = request.query;
      const visibleTo = visibility(request, 'audit.read', { required: true });
      if (visibleTo === undefined) return verifyAuditChains(deps.pool, siteId ? { scope: `site:${siteId}` } : {});
      return verifyAuditChains(deps.pool, { scopes: await chainsVisibleTo(deps.pool, visibleTo, siteId) });
    },
  );
}

function translate(err: unknown): unknown {
  if (!(err instanceof AuditQueryError)) return err;
  if (err.code === 'INVALID_CURSOR') return new ApiError('INVALID_CURSOR', err.message);
  return new ApiError('VALIDATION_FAILED', `The filter is not valid: ${err.message}.`, {
    extra: { errors: err.fields.map((f) => ({ in: 'querystring', path: `/${f.field}`, message: f.message })) },
  });
}

/** `entityId` and `actorId` are text (a token's id is not a uuid); one that is a uuid is matched in lower case, as ids are stored. */
function lowerCaseIds(query: { entityId?: string; actorId?: string }): { entityId?: string; actorId?: string } {
  const lower = (v: string | undefined) => (v !== undefined && isUuid(v) ? v.toLowerCase() : v);
  return {
    ...(query.entityId === undefined ? {} : { entityId: lower(query.entityId) }),
    ...(query.actorId === undefined ? {} : { actorId: lower(query.actorId) }),
  };
}

async function* exportLines(pool: pg.Pool, filter: AuditEventFilter, format: 'ndjson' | 'csv'): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  for await (const e of streamAuditEvents(pool, filter)) {
    yield format === 'ndjson' ? `${JSON.stringify(e)}\n` : `${csvRow(e)}\n`;
  }
}

function csvRow(e: AuditEvent): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    at: e.at,
    scope: e.scope,
    seq: e.seq,
    service: e.service,
    actorType: e.actor.type,
    actorId: e.actor.id,
    actorName: e.actor.name,
    requestId: e.requestId,
    changesetId: e.changesetId,
    siteId: e.siteId,
    siteRevision: e.siteRevision,
    entityType: e.entityType,
    entityId: e.entityId,
    action: e.action,
    outcome: e.outcome,
    comment: e.comment,
    sourceIp: e.sourceIp,
    diff: e.diff.length ? JSON.stringify(e.diff) : '',
    violations: e.violations ? JSON.stringify(e.violations) : '',
    hash: e.hash,
  };
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',');
}

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed so spreadsheets don't run it as a formula. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
