import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import type { Catalog } from '../../core/catalog/catalog.ts';
import { etagOf } from '../../http/etag.ts';
import { authorize } from '../../auth/install-auth.ts';
import type { SiteCheck, WriteContext, WritePath } from '../write-path.ts';

/** What the configuration routes need, wired in `registerConfigService`. */
export interface ConfigDeps {
  pool: pg.Pool;
  catalog: Catalog;
  writePath: WritePath;
  /** Organisation new sites belong to when the request names none. */
  defaultOrgId: string;
}

export const writeContext = (request: FastifyRequest): WriteContext => ({
  actor: request.actor,
  requestId: request.id,
  sourceIp: request.ip,
  idempotency: request.idempotency,
});

/**
 * The check a write to an existing asset or cable makes under its site's lock (the write path
 * finds the site): 404 with `notFound`, exactly like a missing entity, unless the caller may
 * read the site; 403 unless they may also write to it.
 */
export const mayWriteConfig =
  (request: FastifyRequest, notFound: string): SiteCheck =>
  (site) =>
    authorize(request, 'config.write', { orgId: site.orgId, siteId: site.id }, notFound);

export const assetEtag = (a: { id: string; version: number }) => etagOf('asset', a.id, a.version);
export const connectionEtag = (c: { id: string; version: number }) => etagOf('connection', c.id, c.version);
export const siteEtag = (s: { id: string; version: number }) => etagOf('site', s.id, s.version);

export function etagOfEntity(type: 'asset' | 'connection' | 'site', view: Record<string, unknown> | null): string | null {
  if (!view) return null;
  return etagOf(type, String(view.id), Number(view.version));
}
