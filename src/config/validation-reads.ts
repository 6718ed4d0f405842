import type pg from 'pg';
import type { AppliedChange } from '../core/changes/apply-operations.ts';
import type { Operation } from '../core/changes/operations.ts';
import type { AssetPlacement, SiteGraph } from '../core/graph/types.ts';
import { prepared } from '../db/pool.ts';

/*
 * What the write path reads besides the site to validate a change: the placements of older
 * configuration versions that `markDeployed` operations name, and the owners in other sites of
 * serials the change's assets take on. A change that needs neither is validated on the site's
 * graph alone (and may be planned on a copy of it: write-path.ts).
 */

/** Operations of a change whose validation reads configuration versions ({@link loadDeployedPlacements}). */
const placementsWanted = (ops: Operation[]) => ops.flatMap((o) => (o.op === 'markDeployed' && o.configVersion !== null ? [{ id: o.id, v: o.configVersion }] : []));
export const readsPlacements = (ops: Operation[]) => placementsWanted(ops).length > 0;

/** Placements of the configuration versions that `markDeployed` operations name. */
export async function loadDeployedPlacements(client: pg.PoolClient, ops: Operation[]): Promise<Map<string, AssetPlacement>> {
  const wanted = placementsWanted(ops);
  const out = new Map<string, AssetPlacement>();
  if (wanted.length === 0) return out;
  const { rows } = await client.query<{ asset_id: string; version: number; parent_id: string | null; port: string | null; config: Record<string, unknown> }>(
    prepared(
      // One primary-key lookup per wanted version (see ASSET_SELECT on why not a plain join).
      `SELECT v.asset_id, v.version, v.parent_id, v.port, v.config
         FROM jsonb_to_recordset($1::jsonb) AS w(id uuid, v int)
         CROSS JOIN LATERAL (SELECT * FROM config.config_versions v WHERE v.asset_id = w.id AND v.version = w.v LIMIT 1) v`,
      [JSON.stringify(wanted)],
    ),
  );
  for (const r of rows) out.set(`${r.asset_id}@${r.version}`, { parentId: r.parent_id, port: r.port, config: r.config });
  return out;
}

/**
 * Serials that touched assets take on — new assets, changed serials — already held by assets of
 * other sites (fleet-wide uniqueness). A serial an asset kept is not looked up: the unique index
 * on serials has held it for this asset all along, so no other asset can hold it.
 */
export async function lookupSerials(client: pg.PoolClient, applied: AppliedChange, before: SiteGraph, siteId: string): Promise<Map<string, string | null>> {
  const serials = serialsToLookUp(applied, before);
  const out = new Map<string, string | null>();
  if (serials.size === 0) return out;
  // An owner in another organisation's site is not named (null): its id is not the writer's to see.
  const { rows } = await client.query<{ id: string; serial: string; same_org: boolean }>(
    prepared(
      `SELECT a.id, a.serial, s.org_id = (SELECT org_id FROM config.sites WHERE id = $2) AS same_org
         FROM config.assets a JOIN config.sites s ON s.id = a.site_id
        WHERE lower(btrim(a.serial)) = ANY($1::text[]) AND a.site_id <> $2`,
      [[...serials], siteId],
    ),
  );
  for (const r of rows) out.set(r.serial, r.same_org ? r.id : null);
  return out;
}

/** The serials {@link lookupSerials} looks up for a change: those its touched assets take on. */
export function serialsToLookUp(applied: AppliedChange, before: SiteGraph): Set<string> {
  const serials = new Set<string>();
  const normal = (s: string | null | undefined) => s?.trim().toLowerCase() || undefined;
  for (const id of applied.touched.assets) {
    const s = normal(applied.candidate.assets.get(id)?.serial);
    if (s && s !== normal(before.assets.get(id)?.serial)) serials.add(s);
  }
  return serials;
}
