/**
 * The floor: the transaction of one validated single-asset configuration write, issued straight
 * through node-postgres on a pool with rema's settings — the same statements, in the same
 * order, with rows of the same shape and size — and none of rema's own work around it (HTTP,
 * authentication, schema checks, graph copies, rules, views, diffs). What rema reaches is
 * measured against this in the same run. `recordStatements` checks that the two still agree.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { hashEvent } from '../../src/audit/hash.ts';
import type { AuditActor, JsonObject } from '../../src/audit/types.ts';
import { nextOffset, type WriteTarget } from './fleet.ts';

/** A stored asset row as the floor keeps it between its writes. */
interface AssetRow {
  id: string;
  site_id: string;
  kind: string;
  model_id: string;
  name: string;
  serial: string | null;
  status: string;
  firmware: string | null;
  parent_id: string | null;
  port: string | null;
  config: Record<string, unknown>;
  config_version: number;
  deployed_version: number | null;
  version: number;
}

const ASSET_RECORD = `x(id uuid, site_id uuid, kind text, model_id text, name text, serial text, status text, firmware text,
    parent_id uuid, port text, config jsonb, config_version int, deployed_version int, version int)`;

export const FLOOR_SQL = {
  begin: 'BEGIN ISOLATION LEVEL READ COMMITTED',
  lockSite: `SELECT id, org_id, code, name, timezone, network, revision, version FROM config.sites WHERE id = $1 FOR UPDATE`,
  serials: `SELECT id, serial FROM config.assets WHERE lower(btrim(serial)) = ANY($1::text[]) AND site_id <> $2`,
  updateAssets: `UPDATE config.assets a SET name = x.name, serial = x.serial, status = x.status, firmware = x.firmware,
              parent_id = x.parent_id, port = x.port, config = x.config, config_version = x.config_version,
              deployed_version = x.deployed_version, version = x.version, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS ${ASSET_RECORD}
        WHERE a.id = x.id AND a.site_id = x.site_id`,
  insertVersions: `INSERT INTO config.config_versions (asset_id, version, site_id, parent_id, port, config, changeset_id)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(asset_id uuid, version int, site_id uuid, parent_id uuid, port text, config jsonb, changeset_id uuid)`,
  bumpSite: `UPDATE config.sites SET revision = revision + 1, name = $2, timezone = $3, network = $4, version = $5, updated_at = now()
      WHERE id = $1 RETURNING revision`,
  changeset: `INSERT INTO config.changesets (id, site_id, site_revision, actor, request_id, comment, operations, outcome, violations)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  lockHeads: `
  INSERT INTO audit.chain_heads AS h (scope, seq, hash)
  SELECT s, 0, NULL FROM unnest($1::text[]) AS s ORDER BY s
  ON CONFLICT (scope) DO UPDATE SET seq = h.seq
  RETURNING scope, seq, hash`,
  insertEvents: `
  WITH ins AS (
    INSERT INTO audit.events (scope, seq, at, actor, request_id, changeset_id, service, org_id, site_id,
      site_revision, entity_type, entity_id, action, outcome, before, after, diff, comment, source_ip,
      violations, prev_hash, hash)
    SELECT r.scope, r.seq, r.at, r.actor, r.request_id, r.changeset_id, r.service, r.org_id, r.site_id,
      r.site_revision, r.entity_type, r.entity_id, r.action, r.outcome, r.before, r.after, r.diff, r.comment,
      r.source_ip, r.violations, r.prev_hash, r.hash
    FROM jsonb_to_recordset($1::jsonb) AS r(scope text, seq bigint, at timestamptz, actor jsonb,
      request_id text, changeset_id uuid, service text, org_id uuid, site_id uuid, site_revision bigint,
      entity_type text, entity_id text, action text, outcome text, before jsonb, after jsonb, diff jsonb,
      comment text, source_ip text, violations jsonb, prev_hash text, hash text)
    RETURNING id, scope, seq
  ), heads AS (
    UPDATE audit.chain_heads h SET seq = v.seq, hash = v.hash
    FROM jsonb_to_recordset($2::jsonb) AS v(scope text, seq bigint, hash text)
    WHERE h.scope = v.scope
  )
  SELECT id, scope, seq FROM ins`,
  outbox: `INSERT INTO config.outbox (topic, key, payload)
     SELECT topic, key, payload FROM jsonb_to_recordset($1::jsonb) AS x(topic text, key text, payload jsonb)`,
  commit: 'COMMIT',
} as const;

/** The public view of an asset row, as audit events and the outbox record it. */
const view = (a: AssetRow) => ({
  id: a.id,
  siteId: a.site_id,
  kind: a.kind,
  modelId: a.model_id,
  name: a.name,
  serial: a.serial,
  status: a.status,
  firmware: a.firmware,
  parentId: a.parent_id,
  port: a.port,
  config: a.config,
  configVersion: a.config_version,
  deployedVersion: a.deployed_version,
  version: a.version,
});

/** The floor's writer: keeps the rows it writes, so each write is a real change of the current row. */
export class FloorWriter {
  private readonly rows = new Map<string, AssetRow>();
  constructor(
    private readonly pool: pg.Pool,
    private readonly actor: AuditActor,
  ) {}

  /** Loads the current rows of the targets (after rema or an earlier run changed them). */
  async load(targets: WriteTarget[]): Promise<void> {
    const { rows } = await this.pool.query<AssetRow>(
      `SELECT id, site_id, kind, model_id, name, serial, status, firmware, parent_id, port, config, config_version, deployed_version, version
         FROM config.assets WHERE id = ANY($1::uuid[])`,
      [targets.map((t) => t.id)],
    );
    for (const r of rows) this.rows.set(r.id, r);
  }

  /** One single-asset configuration write: the statements of rema's write transaction, nothing else. */
  async write(assetId: string, query: (client: pg.PoolClient, text: string, values?: unknown[]) => Promise<pg.QueryResult> = (c, t, v) => c.query(t, v)): Promise<void> {
    const was = this.rows.get(assetId);
    if (!was) throw new Error(`floor: asset ${assetId} not loaded`);
    const offset = nextOffset(Number(was.config.calibrationOffset ?? 0));
    const now: AssetRow = { ...was, config: { ...was.config, calibrationOffset: offset }, config_version: was.config_version + 1, version: was.version + 1 };
    const changesetId = randomUUID();
    const requestId = `floor-${randomUUID()}`;
    const client = await this.pool.connect();
    try {
      await query(client, FLOOR_SQL.begin);
      const site = (await query(client, FLOOR_SQL.lockSite, [was.site_id])).rows[0] as { id: string; org_id: string; name: string; timezone: string; network: object; version: number };
      if (was.serial) await query(client, FLOOR_SQL.serials, [[was.serial.trim().toLowerCase()], was.site_id]);
      await query(client, FLOOR_SQL.updateAssets, [JSON.stringify([now])]);
      await query(client, FLOOR_SQL.insertVersions, [
        JSON.stringify([{ asset_id: now.id, version: now.config_version, site_id: now.site_id, parent_id: now.parent_id, port: now.port, config: now.config, changeset_id: changesetId }]),
      ]);
      const revision = Number((await query(client, FLOOR_SQL.bumpSite, [site.id, site.name, site.timezone, JSON.stringify(site.network), site.version])).rows[0].revision);
      const operations = [{ op: 'updateAsset', id: now.id, expectedVersion: was.version, patch: { config: { calibrationOffset: offset } } }];
      await query(client, FLOOR_SQL.changeset, [changesetId, site.id, revision, JSON.stringify(this.actor), requestId, null, JSON.stringify(operations), 'applied', null]);
      const scope = `site:${site.id}`;
      const head = (await query(client, FLOOR_SQL.lockHeads, [[scope]])).rows[0] as { seq: number; hash: string | null };
      const before = view(was) as JsonObject;
      const after = view(now) as JsonObject;
      const diff = [
        { op: 'replace' as const, path: '/version', value: now.version },
        { op: 'replace' as const, path: '/configVersion', value: now.config_version },
        { op: 'replace' as const, path: '/config/calibrationOffset', value: offset },
      ];
      const fields = {
        scope, seq: Number(head.seq) + 1, at: new Date().toISOString(), actor: this.actor, requestId, changesetId, service: 'config',
        orgId: site.org_id, siteId: site.id, siteRevision: revision, entityType: 'asset', entityId: now.id, action: 'update',
        outcome: 'applied' as const, before, after, diff, comment: null, sourceIp: '127.0.0.1', violations: null,
      };
      const hash = hashEvent(head.hash, fields);
      const row = {
        scope, seq: fields.seq, at: fields.at, actor: this.actor, request_id: requestId, changeset_id: changesetId, service: 'config',
        org_id: site.org_id, site_id: site.id, site_revision: revision, entity_type: 'asset', entity_id: now.id, action: 'update',
        outcome: 'applied', before, after, diff, comment: null, source_ip: '127.0.0.1', violations: null, prev_hash: head.hash, hash,
      };
      await query(client, FLOOR_SQL.insertEvents, [JSON.stringify([row]), JSON.stringify([{ scope, seq: fields.seq, hash }])]);
      await query(client, FLOOR_SQL.outbox, [
        JSON.stringify([{ topic: 'config.asset.updated', key: now.id, payload: { siteId: site.id, orgId: site.org_id, changesetId, siteRevision: revision, entityId: now.id, before, after } }]),
      ]);
      await query(client, FLOOR_SQL.commit);
      this.rows.set(assetId, now);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}

/** Collapses whitespace, so two spellings of one statement compare equal. */
export const normalizeSql = (text: string) => text.replace(/\s+/g, ' ').trim();
