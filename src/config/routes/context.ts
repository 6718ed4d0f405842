import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import type { Catalog } from '../../core/catalog/catalog.ts';
import { etagOf } from '../../http/etag.ts';
import type { WriteContext, WritePath } from '../write-path.ts';

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
});

export const assetEtag = (a: { id: string; version: number }) => etagOf('asset', a.id, a.version);
export const connectionEtag = (c: { id: string; version: number }) => etagOf('connection', c.id, c.version);
export const siteEtag = (s: { id: string; version: number }) => etagOf('site', s.id, s.version);

export function etagOfEntity(type: 'asset' | 'connection' | 'site', view: Record<string, unknown> | null): string | null {
  if (!view) return null;
  return etagOf(type, String(view.id), Number(view.version));
}
