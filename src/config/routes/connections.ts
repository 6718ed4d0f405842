import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize, scopesOf } from '../../auth/install-auth.ts';
import type { Permission } from '../../auth/principal.ts';
import { scopeCondition } from '../../auth/scopes.ts';
import { connectionView } from '../../core/changes/views.ts';
import type { Operation } from '../../core/changes/operations.ts';
import { ApiError } from '../../http/errors.ts';
import type { HttpApp } from '../../http/app.ts';
import { parseIfMatch } from '../../http/etag.ts';
import { CursorField, decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { ConnectionCreate, ConnectionPatch, ConnectionView, IdParams, Uuid } from '../api-schemas.ts';
import { CONNECTION_COLUMNS, connectionFromRow, type SiteOf } from '../site-store.ts';
import { type ConfigDeps, connectionEtag, mayWriteConfig, writeContext } from './context.ts';
import { singleOperationPointer, type SiteCheck } from '../write-path.ts';
import { siteNotFound } from './sites.ts';
import { newId } from '../../core/ids.ts';

/** Cables between ports of two assets of one site. */
export function connectionRoutes(app: HttpApp, deps: ConfigDeps) {
  const tags = ['connections'];

  async function writeOne(request: FastifyRequest, siteId: SiteOf, op: Operation, id: string, authorize?: SiteCheck) {
    const outcome = await deps.writePath.execute({ siteId, operations: [op], pointer: singleOperationPointer, authorize }, writeContext(request));
    const c = outcome.graph.connections.get(id);
    return c && connectionView(c);
  }

  app.post('/v1/connections', { schema: { tags, summary: 'Connect two ports with a cable', body: ConnectionCreate, response: { 201: ConnectionView } } }, async (request, reply) => {
    const { siteId, ...fields } = request.body;
    const id = fields.id ?? newId();
    const c = await writeOne(request, siteId, { op: 'connect', connection: { ...fields, id } }, id, (site) =>
      authorize(request, 'config.write', { orgId: site.orgId, siteId: site.id }, siteNotFound(site.id)),
    );
    if (!c) throw new Error('created connection missing from the committed graph');
    reply.code(201).header('ETag', connectionEtag(c)).header('Location', `/v1/connections/${id}`);
    return c;
  });

  app.get(
    '/v1/connections',
    {
      schema: {
        tags,
        summary: 'List cables, filtered by site or by an asset at either end',
        querystring: Type.Object({ siteId: Type.Optional(Uuid), assetId: Type.Optional(Uuid), ...pageQueryProperties }),
        response: { 200: Page(ConnectionView) },
      },
    },
    async (request) => {
      const q = request.query;
      const after = q.cursor ? decodeCursor(q.cursor, Type.Object({ id: CursorField.uuid })) : null;
      const params: unknown[] = [q.siteId ?? null, q.assetId ?? null, after?.id ?? null, q.limit + 1];
      const visible = scopeCondition(scopesOf(request, 'read'), { org: 's.org_id', site: 's.id' }, (v) => `$${params.push(v)}`);
      const { rows } = await deps.pool.query(
        `SELECT ${CONNECTION_COLUMNS} FROM config.connections
          WHERE ($1::uuid IS NULL OR site_id = $1) AND ($2::uuid IS NULL OR a_asset_id = $2 OR b_asset_id = $2)
            AND ($3::uuid IS NULL OR id > $3)
            AND site_id IN (SELECT s.id FROM config.sites s WHERE ${visible})
          ORDER BY id LIMIT $4`,
        params,
      );
      const page = toPage(rows.map(connectionFromRow), q.limit, (c) => ({ id: c.id }));
      return { items: page.items.map(connectionView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/connections/:id', { schema: { tags, summary: 'Get a cable', params: IdParams, response: { 200: ConnectionView } } }, async (request, reply) => {
    const c = await getConnection(deps, request.params.id, request, 'read');
    reply.header('ETag', connectionEtag(c));
    return connectionView(c);
  });

  app.patch(
    '/v1/connections/:id',
    { schema: { tags, summary: "Change a cable's label or length (If-Match required)", params: IdParams, body: ConnectionPatch, response: { 200: ConnectionView } } },
    async (request, reply) => {
      const id = request.params.id;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'connection', id });
      const c = await writeOne(request, { connection: id }, { op: 'updateConnection', id, expectedVersion: expected, patch: request.body }, id, mayWriteConfig(request, `Connection ${id} does not exist.`));
      if (!c) throw new ApiError('NOT_FOUND', `Connection ${id} does not exist.`);
      reply.header('ETag', connectionEtag(c));
      return c;
    },
  );

  app.delete('/v1/connections/:id', { schema: { tags, summary: 'Disconnect a cable (If-Match required)', params: IdParams } }, async (request, reply) => {
    const id = request.params.id;
    const expected = parseIfMatch(request.headers['if-match'], { kind: 'connection', id });
    await writeOne(request, { connection: id }, { op: 'disconnect', id, expectedVersion: expected }, id, mayWriteConfig(request, `Connection ${id} does not exist.`));
    reply.code(204);
  });
}

/** The cable, read with its site's organisation, when it exists and the caller may `permission` on its site; 404 exactly like a missing cable otherwise. */
async function getConnection(deps: ConfigDeps, id: string, request: FastifyRequest, permission: Permission) {
  const notFound = `Connection ${id} does not exist.`;
  const { rows } = await deps.pool.query(`SELECT ${CONNECTION_COLUMNS}, (SELECT org_id FROM config.sites s WHERE s.id = c.site_id) AS org_id FROM config.connections c WHERE id = $1`, [id]);
  if (!rows[0]) throw new ApiError('NOT_FOUND', notFound);
  authorize(request, permission, { orgId: rows[0].org_id, siteId: rows[0].site_id }, notFound);
  return connectionFromRow(rows[0]);
}
