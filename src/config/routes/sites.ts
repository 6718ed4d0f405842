import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize, principalOf, scopesOf } from '../../auth/install-auth.ts';
import { scopeCondition } from '../../auth/scopes.ts';
import type { Permission } from '../../auth/principal.ts';
import type { Site } from '../../core/graph/types.ts';
import { siteView } from '../../core/changes/views.ts';
import { timezoneProblem } from '../../core/changes/timezone.ts';
import { GraphIndex } from '../../core/graph/graph-index.ts';
import { runRules } from '../../core/rules/run-rules.ts';
import { ApiError } from '../../http/errors.ts';
import type { HttpApp } from '../../http/app.ts';
import { parseIfMatch } from '../../http/etag.ts';
import { CursorField, decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { AssetView, ConnectionView, IdParams, SiteCreate, SitePatch, SiteView, ViolationSchema } from '../api-schemas.ts';
import { loadSiteGraph, siteFromRow } from '../site-store.ts';
import { builtinCatalog } from '../../core/catalog/catalog.ts';
import { assetView, connectionView } from '../../core/changes/views.ts';
import { type ConfigDeps, siteEtag, writeContext } from './context.ts';
import { singleOperationPointer } from '../write-path.ts';
import { networkProblem } from '../../core/changes/network.ts';
import { escapeLike } from '../../db/escape-like.ts';
import { newId } from '../../core/ids.ts';

const SiteCursor = Type.Object({ code: CursorField.text, id: CursorField.uuid });

/** Sites: the unit of locking, validation and audit chains. */
export function siteRoutes(app: HttpApp, deps: ConfigDeps) {
  const tags = ['sites'];

  app.post('/v1/sites', { schema: { tags, summary: 'Create a site', body: SiteCreate, response: { 201: SiteView } } }, async (request, reply) => {
    const body = request.body;
    const orgId = body.orgId ?? principalOf(request).orgId ?? deps.defaultOrgId;
    authorize(request, 'sites.manage', { orgId }, `Organisation ${orgId} does not exist.`);
    const netProblem = networkProblem(body.network);
    if (netProblem) {
      throw new ApiError('VALIDATION_FAILED', 'The site network is not valid.', { extra: { errors: [{ in: 'body', path: `/network/${netProblem.field}`, message: netProblem.message }] } });
    }
    const tzProblem = timezoneProblem(body.timezone);
    if (tzProblem) throw new ApiError('VALIDATION_FAILED', tzProblem, { extra: { errors: [{ in: 'body', path: '/timezone', message: tzProblem }] } });
    const site = await deps.writePath.createSite(
      { id: newId(), orgId, code: body.code, name: body.name, timezone: body.timezone, network: body.network },
      writeContext(request),
    );
    reply.header('ETag', siteEtag(site)).header('Location', `/v1/sites/${site.id}`).code(201);
    return siteView(site);
  });

  app.get(
    '/v1/sites',
    {
      schema: {
        tags,
        summary: 'List sites',
        querystring: Type.Object({ code: Type.Optional(Type.String({ maxLength: 32 })), q: Type.Optional(Type.String({ maxLength: 120 })), ...pageQueryProperties }),
        response: { 200: Page(SiteView) },
      },
    },
    async (request) => {
      const { code, q, limit, cursor } = request.query;
      const after = cursor ? decodeCursor(cursor, SiteCursor) : null;
      const params: unknown[] = [code ?? null, q ? escapeLike(q) : null, after?.code ?? null, after?.id ?? null, limit + 1];
      const visible = scopeCondition(scopesOf(request, 'read'), { org: 'org_id', site: 'id' }, (v) => `$${params.push(v)}`);
      const { rows } = await deps.pool.query(
        `SELECT id, org_id, code, name, timezone, network, revision, version FROM config.sites
          WHERE ($1::text IS NULL OR code = $1)
            AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%' OR code ILIKE '%' || $2 || '%')
            AND ($3::text IS NULL OR (code, id) > ($3, $4::uuid))
            AND ${visible}
          ORDER BY code, id LIMIT $5`,
        params,
      );
      const page = toPage(rows.map(siteFromRow), limit, (s) => ({ code: s.code, id: s.id }));
      return { items: page.items.map(siteView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/sites/:id', { schema: { tags, summary: 'Get a site', params: IdParams, response: { 200: SiteView } } }, async (request, reply) => {
    const site = await getSite(deps, request.params.id, request, 'read');
    reply.header('ETag', siteEtag(site));
    return siteView(site);
  });

  app.patch(
    '/v1/sites/:id',
    { schema: { tags, summary: 'Update a site (JSON Merge Patch; If-Match required)', params: IdParams, body: SitePatch, response: { 200: SiteView } } },
    async (request, reply) => {
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'site', id: request.params.id });
      const outcome = await deps.writePath.execute(
        {
          siteId: request.params.id,
          operations: [{ op: 'updateSite', expectedVersion: expected, patch: request.body }],
          pointer: singleOperationPointer,
          authorize: (site) => authorize(request, 'sites.manage', { orgId: site.orgId, siteId: site.id }, siteNotFound(site.id)),
        },
        writeContext(request),
      );
      // The merged network is checked by the write path before it commits (see networkProblem).
      const site = outcome.graph.site;
      reply.header('ETag', siteEtag(site));
      return siteView(site);
    },
  );

  app.delete('/v1/sites/:id', { schema: { tags, summary: 'Delete an empty site (If-Match required)', params: IdParams } }, async (request, reply) => {
    const expected = parseIfMatch(request.headers['if-match'], { kind: 'site', id: request.params.id });
    await deps.writePath.deleteSite(request.params.id, expected, writeContext(request), (site) =>
      authorize(request, 'sites.manage', { orgId: site.orgId, siteId: site.id }, siteNotFound(site.id)),
    );
    reply.code(204);
  });

  app.get(
    '/v1/sites/:id/graph',
    {
      schema: {
        tags,
        summary: "A site's full graph: the site, every asset and every cable",
        params: IdParams,
        response: { 200: Type.Object({ site: SiteView, assets: Type.Array(AssetView), connections: Type.Array(ConnectionView) }) },
      },
    },
    async (request) => {
      const site = await getSite(deps, request.params.id, request, 'read');
      const graph = await loadSiteGraph(deps.pool, site);
      return { site: siteView(site), assets: [...graph.assets.values()].map(assetView), connections: [...graph.connections.values()].map(connectionView) };
    },
  );

  app.post(
    '/v1/sites/:id/validate',
    {
      schema: {
        tags,
        summary: 'Re-check every asset and cable of the site against every rule (changes nothing)',
        params: IdParams,
        response: { 200: Type.Object({ siteId: Type.String(), revision: Type.Integer(), valid: Type.Boolean(), violations: Type.Array(ViolationSchema) }) },
      },
    },
    async (request) => {
      const site = await getSite(deps, request.params.id, request, 'read');
      const graph = await loadSiteGraph(deps.pool, site);
      const violations = validateWholeSite(graph);
      return { siteId: site.id, revision: site.revision, valid: !violations.some((v) => v.severity === 'error'), violations };
    },
  );
}

/** Runs every rule over a stored site as if everything in it had just been written. */
export function validateWholeSite(graph: Awaited<ReturnType<typeof loadSiteGraph>>) {
  return runRules({
    candidate: graph,
    before: graph,
    index: new GraphIndex(graph),
    touched: { assets: new Set(graph.assets.keys()), connections: new Set(graph.connections.keys()) },
    removed: new Map(),
    catalog: builtinCatalog(),
    fleet: { serialOwners: new Map() },
  });
}

export const siteNotFound = (id: string) => `Site ${id} does not exist.`;

/** The site, when it exists and the caller may `permission` on it; 404 exactly like a missing site otherwise (403 when only the permission is missing). */
export async function getSite(deps: ConfigDeps, id: string, request: FastifyRequest, permission: Permission): Promise<Site> {
  const { rows } = await deps.pool.query(
    `SELECT id, org_id, code, name, timezone, network, revision, version FROM config.sites WHERE id = $1`,
    [id],
  );
  if (!rows[0]) throw new ApiError('NOT_FOUND', siteNotFound(id));
  const site = siteFromRow(rows[0]);
  authorize(request, permission, { orgId: site.orgId, siteId: site.id }, siteNotFound(id));
  return site;
}

