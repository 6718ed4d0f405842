import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import jsonPatch from 'fast-json-patch';
import { authorize, scopesOf } from '../../auth/install-auth.ts';
import type { Permission } from '../../auth/principal.ts';
import { scopeCondition } from '../../auth/scopes.ts';

const { compare } = jsonPatch;
import { assetView } from '../../core/changes/views.ts';
import type { Operation } from '../../core/changes/operations.ts';
import { ApiError } from '../../http/errors.ts';
import type { HttpApp } from '../../http/app.ts';
import { parseIfMatch } from '../../http/etag.ts';
import { CursorField, decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { AssetCreate, AssetPatch, AssetView, ConfigDoc, IdParams, Uuid } from '../api-schemas.ts';
import { ASSET_SELECT, assetFromRow, type SiteOf } from '../site-store.ts';
import { assetEtag, type ConfigDeps, mayWriteConfig, writeContext } from './context.ts';
import { singleOperationPointer, type SiteCheck } from '../write-path.ts';
import { siteNotFound } from './sites.ts';
import { escapeLike } from '../../db/escape-like.ts';
import { prepared } from '../../db/pool.ts';
import { newId } from '../../core/ids.ts';

const AssetCursor = Type.Object({ id: CursorField.uuid });
/** A configuration version: what PostgreSQL's `integer` holds. */
const VersionNumber = Type.Integer({ minimum: 1, maximum: 2147483647 });
const VersionView = Type.Object({
  assetId: Uuid,
  version: Type.Integer(),
  parentId: Type.Union([Uuid, Type.Null()]),
  port: Type.Union([Type.String(), Type.Null()]),
  config: ConfigDoc,
  changesetId: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
});

/** Assets: CRUD on the one write path, their configuration and its immutable versions. */
export function assetRoutes(app: HttpApp, deps: ConfigDeps) {
  const tags = ['assets'];

  /** Runs one operation on the asset's site and answers with the asset as it now is. */
  async function writeOne(request: FastifyRequest, siteId: SiteOf, op: Operation, id: string, authorize?: SiteCheck) {
    const outcome = await deps.writePath.execute({ siteId, operations: [op], pointer: singleOperationPointer, authorize }, writeContext(request));
    const asset = outcome.graph.assets.get(id);
    return { asset: asset && assetView(asset), outcome };
  }

  app.post('/v1/assets', { schema: { tags, summary: 'Create an asset', body: AssetCreate, response: { 201: AssetView } } }, async (request, reply) => {
    const { siteId, ...fields } = request.body;
    const id = fields.id ?? newId();
    const { asset } = await writeOne(request, siteId, { op: 'createAsset', asset: { ...fields, id } }, id, (site) =>
      authorize(request, 'config.write', { orgId: site.orgId, siteId: site.id }, siteNotFound(site.id)),
    );
    if (!asset) throw new Error('created asset missing from the committed graph');
    reply.code(201).header('ETag', assetEtag(asset)).header('Location', `/v1/assets/${id}`);
    return asset;
  });

  app.get(
    '/v1/assets',
    {
      schema: {
        tags,
        summary: 'List assets, filtered',
        querystring: Type.Object({
          siteId: Type.Optional(Uuid),
          kind: Type.Optional(Type.Union(['gateway', 'controller', 'meter', 'sensor'].map((k) => Type.Literal(k)))),
          modelId: Type.Optional(Type.String({ maxLength: 64 })),
          parentId: Type.Optional(Uuid),
          status: Type.Optional(Type.Union(['planned', 'active', 'retired'].map((k) => Type.Literal(k)))),
          serial: Type.Optional(Type.String({ maxLength: 64 })),
          q: Type.Optional(Type.String({ maxLength: 120, description: 'Substring of name or serial' })),
          ...pageQueryProperties,
        }),
        response: { 200: Page(AssetView) },
      },
    },
    async (request) => {
      const q = request.query;
      const after = q.cursor ? decodeCursor(q.cursor, AssetCursor) : null;
      const params: unknown[] = [q.siteId ?? null, q.kind ?? null, q.modelId ?? null, q.parentId ?? null, q.status ?? null, q.serial ?? null, q.q ? escapeLike(q.q) : null, after?.id ?? null, q.limit + 1];
      const visible = scopeCondition(scopesOf(request, 'read'), { org: 's.org_id', site: 's.id' }, (v) => `$${params.push(v)}`);
      const { rows } = await deps.pool.query(
        `${ASSET_SELECT}
          WHERE ($1::uuid IS NULL OR a.site_id = $1) AND ($2::text IS NULL OR a.kind = $2) AND ($3::text IS NULL OR a.model_id = $3)
            AND ($4::uuid IS NULL OR a.parent_id = $4) AND ($5::text IS NULL OR a.status = $5)
            AND ($6::text IS NULL OR lower(btrim(a.serial)) = lower(btrim($6)))
            AND ($7::text IS NULL OR a.name ILIKE '%' || $7 || '%' OR a.serial ILIKE '%' || $7 || '%')
            AND ($8::uuid IS NULL OR a.id > $8)
            AND a.site_id IN (SELECT s.id FROM config.sites s WHERE ${visible})
          ORDER BY a.id LIMIT $9`,
        params,
      );
      const page = toPage(rows.map(assetFromRow), q.limit, (a) => ({ id: a.id }));
      return { items: page.items.map(assetView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/assets/:id', { schema: { tags, summary: 'Get an asset', params: IdParams, response: { 200: AssetView } } }, async (request, reply) => {
    const asset = await getAsset(deps, request.params.id, request, 'read');
    reply.header('ETag', assetEtag(asset));
    return assetView(asset);
  });

  app.patch(
    '/v1/assets/:id',
    {
      schema: {
        tags,
        summary: 'Update an asset (JSON Merge Patch, `config` merged too; If-Match required)',
        params: IdParams,
        body: AssetPatch,
        response: { 200: AssetView },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'asset', id });
      const patch = request.body;
      const { asset } = await writeOne(request, { asset: id }, { op: 'updateAsset', id, expectedVersion: expected, patch }, id, mayWriteConfig(request, `Asset ${id} does not exist.`));
      if (!asset) throw new ApiError('NOT_FOUND', `Asset ${id} does not exist.`);
      reply.header('ETag', assetEtag(asset));
      return asset;
    },
  );

  app.delete('/v1/assets/:id', { schema: { tags, summary: 'Delete an asset (If-Match required)', params: IdParams } }, async (request, reply) => {
    const id = request.params.id;
    const expected = parseIfMatch(request.headers['if-match'], { kind: 'asset', id });
    await writeOne(request, { asset: id }, { op: 'deleteAsset', id, expectedVersion: expected }, id, mayWriteConfig(request, `Asset ${id} does not exist.`));
    reply.code(204);
  });

  app.get(
    '/v1/assets/:id/config',
    { schema: { tags, summary: "The asset's desired configuration", params: IdParams, response: { 200: Type.Object({ configVersion: Type.Integer(), config: ConfigDoc }) } } },
    async (request, reply) => {
      const asset = await getAsset(deps, request.params.id, request, 'read');
      reply.header('ETag', assetEtag(asset));
      return { configVersion: asset.configVersion, config: asset.config };
    },
  );

  app.put(
    '/v1/assets/:id/config',
    { schema: { tags, summary: 'Replace the configuration (If-Match of the asset required)', params: IdParams, body: ConfigDoc, response: { 200: AssetView } } },
    async (request, reply) => {
      const id = request.params.id;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'asset', id });
      const { asset } = await writeOne(request, { asset: id }, { op: 'setConfig', id, expectedVersion: expected, config: request.body }, id, mayWriteConfig(request, `Asset ${id} does not exist.`));
      if (!asset) throw new ApiError('NOT_FOUND', `Asset ${id} does not exist.`);
      reply.header('ETag', assetEtag(asset));
      return asset;
    },
  );

  app.get(
    '/v1/assets/:id/versions',
    {
      schema: {
        tags,
        summary: 'Configuration versions of an asset, newest first (kept after the asset is deleted)',
        params: IdParams,
        querystring: Type.Object(pageQueryProperties),
        response: { 200: Page(VersionView) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const before = cursor ? decodeCursor(cursor, Type.Object({ v: CursorField.version })).v : null;
      // Versions outlive their asset: they are read on the site they were written in, whose organisation is the sites row's.
      const params: unknown[] = [request.params.id, before, limit + 1];
      const visible = scopeCondition(scopesOf(request, 'read'), { org: 's.org_id', site: 'v.site_id' }, (v) => `$${params.push(v)}`);
      const { rows } = await deps.pool.query(
        `SELECT v.asset_id, v.version, v.parent_id, v.port, v.config, v.changeset_id, v.created_at
           FROM config.config_versions v LEFT JOIN config.sites s ON s.id = v.site_id
          WHERE v.asset_id = $1 AND ($2::int IS NULL OR v.version < $2) AND ${visible} ORDER BY v.version DESC LIMIT $3`,
        params,
      );
      if (rows.length === 0 && before === null) throw new ApiError('NOT_FOUND', `Asset ${request.params.id} does not exist.`);
      const page = toPage(rows.map(versionView), limit, (v) => ({ v: v.version }));
      return page;
    },
  );

  app.get(
    '/v1/assets/:id/versions/:version',
    { schema: { tags, summary: 'One configuration version', params: Type.Object({ id: Uuid, version: VersionNumber }), response: { 200: VersionView } } },
    async (request) => {
      const v = await getVersion(deps, request, request.params.id, request.params.version);
      return v;
    },
  );

  app.get(
    '/v1/assets/:id/diff',
    {
      schema: {
        tags,
        summary: 'JSON Patch (RFC 6902) from one configuration version to another',
        params: IdParams,
        querystring: Type.Object({ from: VersionNumber, to: VersionNumber }),
        response: {
          200: Type.Object({ assetId: Uuid, from: Type.Integer(), to: Type.Integer(), diff: Type.Array(Type.Object({}, { additionalProperties: true })) }),
        },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const [a, b] = await Promise.all([getVersion(deps, request, request.params.id, from), getVersion(deps, request, request.params.id, to)]);
      const placement = (v: typeof a) => ({ parentId: v.parentId, port: v.port, config: v.config });
      return { assetId: request.params.id, from, to, diff: compare(placement(a), placement(b)) };
    },
  );
}

function versionView(r: { asset_id: string; version: number; parent_id: string | null; port: string | null; config: Record<string, unknown>; changeset_id: string; created_at: Date }) {
  return { assetId: r.asset_id, version: r.version, parentId: r.parent_id, port: r.port, config: r.config, changesetId: r.changeset_id, createdAt: r.created_at.toISOString() };
}

/** One configuration version the caller may read (on its site); 404 alike when it does not exist or they may not. */
async function getVersion(deps: ConfigDeps, request: FastifyRequest, id: string, version: number) {
  const params: unknown[] = [id, version];
  const visible = scopeCondition(scopesOf(request, 'read'), { org: 's.org_id', site: 'v.site_id' }, (v) => `$${params.push(v)}`);
  const { rows } = await deps.pool.query(
    `SELECT v.asset_id, v.version, v.parent_id, v.port, v.config, v.changeset_id, v.created_at
       FROM config.config_versions v LEFT JOIN config.sites s ON s.id = v.site_id
      WHERE v.asset_id = $1 AND v.version = $2 AND ${visible}`,
    params,
  );
  if (!rows[0]) throw new ApiError('NOT_FOUND', `Asset ${id} has no configuration version ${version}.`);
  return versionView(rows[0]);
}

/**
 * The asset's row and its site's organisation as one JSON value: parsed natively in one call,
 * where eighteen columns cost the driver a parser per column and answer, in JavaScript. The
 * values come out as the site graph's JSON has them, which `assetFromRow` reads too.
 */
const GET_ASSET = `SELECT row_to_json(r) AS asset FROM (SELECT q.*, s.org_id FROM (${ASSET_SELECT} WHERE a.id = $1) q JOIN config.sites s ON s.id = q.site_id) r`;

/**
 * The asset, read with its site's organisation in one query, when it exists and the caller may
 * `permission` on its site; 404 exactly like a missing asset otherwise (403 when only the
 * permission is missing).
 */
export async function getAsset(deps: ConfigDeps, id: string, request: FastifyRequest, permission: Permission) {
  const { rows } = await deps.pool.query<{ asset: Parameters<typeof assetFromRow>[0] & { org_id: string } }>(prepared(GET_ASSET, [id]));
  const notFound = `Asset ${id} does not exist.`;
  const row = rows[0]?.asset;
  if (!row) throw new ApiError('NOT_FOUND', notFound);
  authorize(request, permission, { orgId: row.org_id, siteId: row.site_id }, notFound);
  return assetFromRow(row);
}
