import { Type } from 'typebox';
import { authorize } from '../../auth/install-auth.ts';
import { NO_ORG } from '../../auth/scopes.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { CursorField, decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { preference } from '../../http/prefer.ts';
import { ChangesetRequest, ChangesetResult, DryRunQuery, IdParams, SiteIdParams, Uuid, ViolationSchema } from '../api-schemas.ts';
import type { ChangeOutcome } from '../write-path.ts';
import { type ConfigDeps, etagOfEntity, writeContext } from './context.ts';
import { getSite, siteNotFound } from './sites.ts';

const ChangesetRecord = Type.Object({
  id: Uuid,
  siteId: Uuid,
  siteRevision: Type.Union([Type.Integer(), Type.Null()]),
  actor: Type.Object({}, { additionalProperties: true }),
  requestId: Type.Union([Type.String(), Type.Null()]),
  comment: Type.Union([Type.String(), Type.Null()]),
  operations: Type.Array(Type.Object({}, { additionalProperties: true })),
  outcome: Type.Union([Type.Literal('applied'), Type.Literal('refused')]),
  violations: Type.Union([Type.Array(ViolationSchema), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

/**
 * The answer to a change set. `minimal` (the client sent `Prefer: return=minimal`, RFC 7240)
 * leaves out `changes`, the before, after and diff of every entity: a client that builds a
 * fleet does not read them back, and for a change set of hundreds of operations they are most
 * of the work of answering.
 */
export function changesetResult(outcome: ChangeOutcome, minimal = false) {
  return {
    changesetId: recorded(outcome) ? outcome.changesetId : null,
    dryRun: outcome.dryRun,
    siteRevision: outcome.siteRevision,
    ...(minimal ? {} : { changes: outcome.changes.map((c) => ({ ...c, etag: etagOfEntity(c.entityType, c.after as unknown as Record<string, unknown> | null) })) }),
    impacted: outcome.impacted,
    violations: outcome.violations,
    valid: !outcome.violations.some((v) => v.severity === 'error'),
  };
}

/** Whether the change set was recorded: not a dry run, nor one whose operations change nothing (they cancel out, or set what is already so). */
const recorded = (outcome: ChangeOutcome) => !outcome.dryRun && outcome.changes.length > 0;

/** Change sets: several operations validated together on the candidate state, applied atomically. */
export function changesetRoutes(app: HttpApp, deps: ConfigDeps) {
  const tags = ['changesets'];

  app.post(
    '/v1/sites/:siteId/changesets',
    {
      schema: {
        tags,
        summary: 'Apply (or with ?dryRun=true, plan) a change set',
        description:
          'Operations are applied in order to a candidate copy of the site, then every rule runs on the touched scope. Any error-severity violation refuses the whole change set with 409; a dry run answers 200 with the plan and changes nothing. A change set recorded answers 201 with its `changesetId`; one whose operations change nothing (they cancel out, or set what is already so) answers 200 with `changesetId: null` and records nothing, as a dry run does. ' +
          'With `Prefer: return=minimal` the answer leaves out `changes` (and says `Preference-Applied: return=minimal`).',
        params: SiteIdParams,
        headers: Type.Object({ prefer: Type.Optional(Type.String({ description: 'RFC 7240; `return=minimal` leaves `changes` out of the answer' })) }),
        querystring: DryRunQuery,
        body: ChangesetRequest,
        response: { 200: ChangesetResult, 201: ChangesetResult },
      },
    },
    async (request, reply) => {
      const { operations } = request.body;
      const outcome = await deps.writePath.execute(
        {
          siteId: request.params.siteId,
          operations,
          comment: request.body.comment ?? null,
          dryRun: request.query.dryRun ?? false,
          authorize: (site) => {
            const scope = { orgId: site.orgId, siteId: site.id };
            authorize(request, 'config.write', scope, siteNotFound(site.id));
            // The site's own fields are the site manager's, also inside a change set (as PATCH /v1/sites/{id}).
            if (operations.some((o) => o.op === 'updateSite')) authorize(request, 'sites.manage', scope, siteNotFound(site.id));
          },
        },
        writeContext(request),
      );
      const minimal = preference(request.headers.prefer, 'return') === 'minimal';
      if (minimal) reply.header('preference-applied', 'return=minimal');
      // 201 for the change set recorded; 200 for a plan, or for operations that changed nothing.
      reply.code(recorded(outcome) ? 201 : 200);
      return changesetResult(outcome, minimal);
    },
  );

  app.get(
    '/v1/sites/:siteId/changesets',
    {
      schema: {
        tags,
        summary: "A site's change sets, newest first (applied and refused)",
        params: SiteIdParams,
        querystring: Type.Object({ outcome: Type.Optional(Type.Union([Type.Literal('applied'), Type.Literal('refused')])), ...pageQueryProperties }),
        response: { 200: Page(ChangesetRecord) },
      },
    },
    async (request) => {
      await getSite(deps, request.params.siteId, request, 'read');
      const { limit, cursor, outcome } = request.query;
      const after = cursor ? decodeCursor(cursor, Type.Object({ at: CursorField.instantUs, id: CursorField.uuid })) : null;
      // The cursor keeps created_at to the microsecond: a millisecond ISO string would skip the
      // change sets committed later in the same millisecond as the last one of a page.
      const { rows } = await deps.pool.query(
        `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
           FROM config.changesets WHERE site_id = $1 AND ($2::text IS NULL OR outcome = $2)
            AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
          ORDER BY created_at DESC, id DESC LIMIT $5`,
        [request.params.siteId, outcome ?? null, after?.at ?? null, after?.id ?? null, limit + 1],
      );
      const page = toPage(rows, limit, (r) => ({ at: r.cursor_at as string, id: r.id as string }));
      return { items: page.items.map(changesetRecord), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/changesets/:id', { schema: { tags, summary: 'One change set', params: IdParams, response: { 200: ChangesetRecord } } }, async (request) => {
    const notFound = `Change set ${request.params.id} does not exist.`;
    // The organisation is the site's; a change set of a deleted site has none any more and is seen by services only.
    const { rows } = await deps.pool.query(
      `SELECT c.*, s.org_id FROM config.changesets c LEFT JOIN config.sites s ON s.id = c.site_id WHERE c.id = $1`,
      [request.params.id],
    );
    if (!rows[0]) throw new ApiError('NOT_FOUND', notFound);
    authorize(request, 'read', { orgId: rows[0].org_id ?? NO_ORG, siteId: rows[0].site_id }, notFound);
    return changesetRecord(rows[0]);
  });
}

function changesetRecord(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    siteId: r.site_id as string,
    siteRevision: r.site_revision === null ? null : Number(r.site_revision),
    actor: r.actor as Record<string, unknown>,
    requestId: r.request_id as string | null,
    comment: r.comment as string | null,
    operations: r.operations as Record<string, unknown>[],
    outcome: r.outcome as 'applied' | 'refused',
    violations: r.violations as never,
    createdAt: (r.created_at as Date).toISOString(),
  };
}
