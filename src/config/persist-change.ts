import type pg from 'pg';
import { auditInsertCtes, type ChainedEvents } from '../audit/append.ts';
import type { AppliedChange } from '../core/changes/apply-operations.ts';
import { prepared, statementName } from '../db/pool.ts';
import type { CommitStatement } from '../db/tx.ts';
import { outboxInsertSql, type OutboxEvent } from '../events/outbox.ts';
import { markCommittedSql, type IdempotencyClaim } from '../http/idempotency.ts';

/** What is recorded beside the rows of an applied change, in the same statement as the last of them. */
export interface ChangeRecord {
  changesetId: string;
  /** The site revision the change produces (the revision of the site it was planned on + 1: locked, or checked by the statement). */
  revision: number;
  changeset: { actor: object; requestId: string; comment: string | null; operations: object[] };
  /** The change's audit events, chained onto the site's head (locked, or held and checked by the unique sequence number). */
  audit: ChainedEvents;
  /** The change's events for other services, queued in the config outbox. */
  outbox: OutboxEvent[];
  /** The request's `Idempotency-Key` claim, marked committed with the change set. */
  idempotency?: IdempotencyClaim;
}

/** One statement of the row writes: `sql` with its one jsonb or uuid[] parameter at `p`. */
interface RowStatement {
  sql: (p: string) => string;
  value: string | string[];
  /** An INSERT of assets, whose primary key must answer a taken id before anything else does. */
  insertsAssets?: true;
}

const ASSET_RECORD = `x(id uuid, site_id uuid, kind text, model_id text, name text, serial text, status text, firmware text,
    parent_id uuid, port text, config jsonb, config_version int, deployed_version int, version int)`;
const CABLE_RECORD = `x(id uuid, site_id uuid, a_asset_id uuid, a_port text, b_asset_id uuid, b_port text, label text,
    length_m double precision, version int)`;

/** The statements that write a change: `rows` first, in order, then `last`, which joins everything else and checks the revision. */
export interface ChangeStatements {
  rows: pg.QueryConfig[];
  last: CommitStatement;
}

/**
 * Writes an applied, validated change: assets, cables, configuration versions, the site, the
 * change-set row, the audit events and the outbox events. Each kind of row is one statement (rows travel as a JSON
 * array), run in the order below because unique indexes see them in that order; the last of
 * them shares one statement with everything that does not depend on that order (versions, the
 * site, the change set, the audit events, the outbox). So a single-asset write is one statement, and a
 * 20-operation change set costs the same round trips as a single PATCH.
 *
 * That last statement is run by `last` — the transaction's `commitWith`, which sends COMMIT
 * with it — so it checks itself that the site moved to `record.revision` (an error inside the
 * statement keeps nothing of the change).
 *
 * @returns the site revision after the change.
 */
export async function persistChange(
  client: pg.PoolClient,
  applied: AppliedChange,
  record: ChangeRecord,
  last: (query: CommitStatement) => Promise<pg.QueryResult>,
): Promise<number> {
  const statements = changeStatements(applied, record);
  for (const r of statements.rows) await client.query(r);
  const { rows: out } = await last(statements.last);
  return Number(out[0]?.revision);
}

/**
 * The statements of {@link persistChange}, built without sending them: most changes (every
 * change to rows of one kind, such as a configuration write) are the one statement `last`.
 */
export function changeStatements(applied: AppliedChange, record: ChangeRecord): ChangeStatements {
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
      versions.push({ asset_id: a.id, version: a.configVersion, site_id: a.siteId, parent_id: a.parentId, port: a.port, config: a.config, changeset_id: record.changesetId });
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

  const rows: RowStatement[] = [];
  const json = (list: object[]) => JSON.stringify(list);
  // Cables go before the assets they hang on are deleted; foreign keys are deferred anyway.
  if (cableDeletes.length) rows.push({ sql: (p) => `DELETE FROM config.connections WHERE id = ANY(${p}::uuid[])`, value: cableDeletes });
  if (inserts.length) {
    // A plain INSERT: an id that exists anywhere (even in another site) is a conflict, never an overwrite.
    rows.push({
      sql: (p) => `INSERT INTO config.assets (id, site_id, kind, model_id, name, serial, status, firmware, parent_id, port, config,
                                  config_version, deployed_version, version)
       SELECT id, site_id, kind, model_id, name, serial, status, firmware, parent_id, port, config,
              config_version, deployed_version, version
         FROM jsonb_to_recordset(${p}::jsonb) AS ${ASSET_RECORD}`,
      value: json(inserts),
      insertsAssets: true,
    });
  }
  if (updates.length) {
    rows.push({
      sql: (p) => `UPDATE config.assets a SET name = x.name, serial = x.serial, status = x.status, firmware = x.firmware,
              parent_id = x.parent_id, port = x.port, config = x.config, config_version = x.config_version,
              deployed_version = x.deployed_version, version = x.version, updated_at = now()
         FROM jsonb_to_recordset(${p}::jsonb) AS ${ASSET_RECORD}
        WHERE a.id = x.id AND a.site_id = x.site_id`,
      value: json(updates),
    });
  }
  if (deletes.length) rows.push({ sql: (p) => `DELETE FROM config.assets WHERE id = ANY(${p}::uuid[])`, value: deletes });
  if (cableInserts.length) {
    rows.push({
      sql: (p) => `INSERT INTO config.connections (id, site_id, a_asset_id, a_port, b_asset_id, b_port, label, length_m, version)
       SELECT id, site_id, a_asset_id, a_port, b_asset_id, b_port, label, length_m, version
         FROM jsonb_to_recordset(${p}::jsonb) AS ${CABLE_RECORD}`,
      value: json(cableInserts),
    });
  }
  if (cableUpdates.length) {
    rows.push({
      sql: (p) => `UPDATE config.connections c SET label = x.label, length_m = x.length_m, version = x.version, updated_at = now()
         FROM jsonb_to_recordset(${p}::jsonb) AS ${CABLE_RECORD}
        WHERE c.id = x.id AND c.site_id = x.site_id`,
      value: json(cableUpdates),
    });
  }

  // The last row statement joins the rest, unless it inserts assets: a taken asset id must be
  // refused by the assets' primary key, not by that of the versions it would get.
  const joined = rows[rows.length - 1]?.insertsAssets ? undefined : rows.pop();
  const earlier = rows.map((r) => prepared(r.sql('$1'), [r.value]));

  const values: CommitStatement['values'][number][] = [];
  const param = (value: CommitStatement['values'][number]) => {
    values.push(value);
    return `$${values.length}`;
  };
  const items: string[] = [];
  if (joined) items.push(`row_writes AS (${joined.sql(param(joined.value))})`);
  if (versions.length) {
    items.push(`versions AS (INSERT INTO config.config_versions (asset_id, version, site_id, parent_id, port, config, changeset_id)
       SELECT * FROM jsonb_to_recordset(${param(json(versions))}::jsonb) AS x(asset_id uuid, version int, site_id uuid, parent_id uuid, port text, config jsonb, changeset_id uuid))`);
  }
  // The site's revision moves by one under its lock; its own fields change when the change updated the site.
  const s = candidate.site;
  items.push(`site AS (UPDATE config.sites SET revision = revision + 1, name = ${param(s.name)}, timezone = ${param(s.timezone)}, network = ${param(JSON.stringify(s.network))},
       version = ${param(s.version)}, updated_at = now() WHERE id = ${param(s.id)} RETURNING revision)`);
  const cs = record.changeset;
  items.push(`changeset AS (INSERT INTO config.changesets (id, site_id, site_revision, actor, request_id, comment, operations, outcome, violations)
     VALUES (${param(record.changesetId)}, ${param(s.id)}, ${param(record.revision)}, ${param(JSON.stringify(cs.actor))}, ${param(cs.requestId)}, ${param(cs.comment)},
             ${param(JSON.stringify(cs.operations))}, 'applied', NULL))`);
  items.push(auditInsertCtes(param(record.audit.rowsJson), param(record.audit.headsJson)));
  if (record.outbox.length) items.push(`outbox AS (${outboxInsertSql('config', param(JSON.stringify(record.outbox)))})`);
  const claim = record.idempotency
    ? markCommittedSql({ owner: param(record.idempotency.owner), key: param(record.idempotency.key), claimId: param(record.idempotency.claimId), changesetId: param(record.changesetId) })
    : undefined;
  if (claim) items.push(claim.cte);
  const expected = param(record.revision);
  const text = `WITH ${items.join(',\n  ')}\n  ${expectRevisionSql(expected)}${claim ? `, ${claim.check} AS claimed` : ''}`;
  return { rows: earlier, last: { name: statementName(text), text, values } };
}

/**
 * The end of a change's write statement: the site's revision from its `site` CTE, which must be
 * the one the change was validated for (`expected`, a parameter) — else the statement fails
 * (config.expect_revision) and the change is not kept.
 */
export const expectRevisionSql = (expected: string) => `SELECT config.expect_revision((SELECT revision FROM site), ${expected}::bigint) AS revision`;
