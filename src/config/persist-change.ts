import type pg from 'pg';
import type { AppliedChange } from '../core/changes/apply-operations.ts';
import type { SiteGraph } from '../core/graph/types.ts';

/**
 * Writes an applied, validated change: assets, configuration versions, cables and the site,
 * each kind in one statement (rows travel as a JSON array), so a 20-operation change set costs
 * the same round trips as a single PATCH.
 */
export async function persistChange(client: pg.PoolClient, applied: AppliedChange, changesetId: string): Promise<void> {
  const { candidate } = applied;
  const created = new Set(applied.changes.filter((c) => c.action === 'create').map((c) => c.entityId));
  const inserts: object[] = [];
  const updates: object[] = [];
  const deletes: string[] = [];
  const versions: object[] = [];
  for (const id of applied.touched.assets) {
    const a = candidate.assets.get(id);
    if (!a) {
      deletes.push(id);
      continue;
    }
    (created.has(id) ? inserts : updates).push({
      id: a.id,
      site_id: a.siteId,
      kind: a.kind,
      model_id: a.modelId,
      name: a.name,
      serial: a.serial,
      status: a.status,
      firmware: a.firmware,
      parent_id: a.parentId,
      port: a.port,
      config: a.config,
      config_version: a.configVersion,
      deployed_version: a.deployed?.version ?? null,
      version: a.version,
    });
    if (applied.newConfigVersions.has(id)) {
      versions.push({ asset_id: a.id, version: a.configVersion, site_id: a.siteId, parent_id: a.parentId, port: a.port, config: a.config, changeset_id: changesetId });
    }
  }

  const cableInserts: object[] = [];
  const cableUpdates: object[] = [];
  const cableDeletes: string[] = [];
  for (const id of applied.touched.connections) {
    const c = candidate.connections.get(id);
    if (!c) cableDeletes.push(id);
    else
      (created.has(id) ? cableInserts : cableUpdates).push({
        id: c.id,
        site_id: c.siteId,
        a_asset_id: c.a.assetId,
        a_port: c.a.port,
        b_asset_id: c.b.assetId,
        b_port: c.b.port,
        label: c.label,
        length_m: c.lengthM,
        version: c.version,
      });
  }

  // Cables go before the assets they hang on are deleted; foreign keys are deferred anyway.
  if (cableDeletes.length) await client.query(`DELETE FROM config.connections WHERE id = ANY($1::uuid[])`, [cableDeletes]);
  const assetRecord = `x(id uuid, site_id uuid, kind text, model_id text, name text, serial text, status text, firmware text,
    parent_id uuid, port text, config jsonb, config_version int, deployed_version int, version int)`;
  if (inserts.length) {
    // A plain INSERT: an id that exists anywhere (even in another site) is a conflict, never an overwrite.
    await client.query(
      `INSERT INTO config.assets (id, site_id, kind, model_id, name, serial, status, firmware, parent_id, port, config,
                                  config_version, deployed_version, version)
       SELECT id, site_id, kind, model_id, name, serial, status, firmware, parent_id, port, config,
              config_version, deployed_version, version
         FROM jsonb_to_recordset($1::jsonb) AS ${assetRecord}`,
      [JSON.stringify(inserts)],
    );
  }
  if (updates.length) {
    await client.query(
      `UPDATE config.assets a SET name = x.name, serial = x.serial, status = x.status, firmware = x.firmware,
              parent_id = x.parent_id, port = x.port, config = x.config, config_version = x.config_version,
              deployed_version = x.deployed_version, version = x.version, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS ${assetRecord}
        WHERE a.id = x.id AND a.site_id = x.site_id`,
      [JSON.stringify(updates)],
    );
  }
  if (versions.length) {
    await client.query(
      `INSERT INTO config.config_versions (asset_id, version, site_id, parent_id, port, config, changeset_id)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(asset_id uuid, version int, site_id uuid, parent_id uuid, port text, config jsonb, changeset_id uuid)`,
      [JSON.stringify(versions)],
    );
  }
  if (deletes.length) await client.query(`DELETE FROM config.assets WHERE id = ANY($1::uuid[])`, [deletes]);
  const cableRecord = `x(id uuid, site_id uuid, a_asset_id uuid, a_port text, b_asset_id uuid, b_port text, label text,
    length_m double precision, version int)`;
  if (cableInserts.length) {
    await client.query(
      `INSERT INTO config.connections (id, site_id, a_asset_id, a_port, b_asset_id, b_port, label, length_m, version)
       SELECT id, site_id, a_asset_id, a_port, b_asset_id, b_port, label, length_m, version
         FROM jsonb_to_recordset($1::jsonb) AS ${cableRecord}`,
      [JSON.stringify(cableInserts)],
    );
  }
  if (cableUpdates.length) {
    await client.query(
      `UPDATE config.connections c SET label = x.label, length_m = x.length_m, version = x.version, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS ${cableRecord}
        WHERE c.id = x.id AND c.site_id = x.site_id`,
      [JSON.stringify(cableUpdates)],
    );
  }
}

/** Bumps the site's revision (and its own fields when the change updated the site). */
export async function bumpSite(client: pg.PoolClient, graph: SiteGraph): Promise<number> {
  const s = graph.site;
  const { rows } = await client.query<{ revision: string }>(
    `UPDATE config.sites SET revision = revision + 1, name = $2, timezone = $3, network = $4, version = $5, updated_at = now()
      WHERE id = $1 RETURNING revision`,
    [s.id, s.name, s.timezone, JSON.stringify(s.network), s.version],
  );
  return Number(rows[0].revision);
}
