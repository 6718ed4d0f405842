/**
 * The floor: the transaction of one validated single-asset configuration write, issued straight
 * through node-postgres on a pool with rema's settings — the same statements, in the same
 * order, with rows of the same shape and size — and none of rema's own work around it (HTTP,
 * authentication, schema checks, graph copies, rules, views, diffs). What rema reaches is
 * measured against this in the same run. `recordStatements` checks that the two still agree.
 */
import type pg from 'pg';
import { auditInsertCtes } from '../../src/audit/append.ts';
import { lockForWriteSql, siteCacheSizeFromEnv } from '../../src/config/site-store.ts';
import { hashEvent } from '../../src/audit/hash.ts';
import { prepared } from '../../src/db/pool.ts';
import { together } from '../../src/db/tx.ts';
import { outboxInsertSql } from '../../src/events/outbox.ts';
import { expectRevisionSql } from '../../src/config/persist-change.ts';
import type { AuditActor, JsonObject } from '../../src/audit/types.ts';
import { newId } from '../../src/core/ids.ts';
import { SiteTurns } from '../../src/config/site-turns.ts';
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

/**
 * The site of the asset, locked, the head of its audit chain and — when the site moved since the
 * floor last wrote to it, as when rema's cache misses — the site's graph: rema's statement.
 */
const LOCK_SITE = lockForWriteSql({ asset: '' });

/** The write statement: the asset row, its new version, the site's revision, the change set, the audit event and the outbox row at once. */
const WRITE = `WITH row_writes AS (UPDATE config.assets a SET name = x.name, serial = x.serial, status = x.status, firmware = x.firmware,
              parent_id = x.parent_id, port = x.port, config = x.config, config_version = x.config_version,
              deployed_version = x.deployed_version, version = x.version, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS ${ASSET_RECORD}
        WHERE a.id = x.id AND a.site_id = x.site_id),
  versions AS (INSERT INTO config.config_versions (asset_id, version, site_id, parent_id, port, config, changeset_id)
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(asset_id uuid, version int, site_id uuid, parent_id uuid, port text, config jsonb, changeset_id uuid)),
  site AS (UPDATE config.sites SET revision = revision + 1, name = $3, timezone = $4, network = $5,
       version = $6, updated_at = now() WHERE id = $7 RETURNING revision),
  changeset AS (INSERT INTO config.changesets (id, site_id, site_revision, actor, request_id, comment, operations, outcome, violations)
     VALUES ($8, $9, $10, $11, $12, $13,
             $14, 'applied', NULL)),
  ${auditInsertCtes('$15', '$16')},
  outbox AS (${outboxInsertSql('config', '$17')})
  ${expectRevisionSql('$18')}`;

export const FLOOR_SQL = {
  begin: 'BEGIN ISOLATION LEVEL READ COMMITTED',
  lockSite: LOCK_SITE,
  write: WRITE,
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

/** A site as the floor's lock statement reads it, with the head of its audit chain. */
interface LockedSite {
  id: string;
  org_id: string;
  name: string;
  timezone: string;
  network: object;
  version: number;
  revision: number;
  head_seq: number;
  head_hash: string | null;
}

/**
 * The floor's writer: keeps the rows it writes, so each write is a real change of the current row.
 *
 * As rema's write path, a write to a site whose state the floor's own last write left — its
 * revision and audit chain head — is the write statement sent alone (`alone`, the default); it
 * checks the revision itself, and when another writer moved it on (rema, between the runs), the
 * floor takes the lock and writes in a transaction. A write with `alone: false` always takes the
 * lock: the transaction of a write to a site not held.
 */
export class FloorWriter {
  private readonly rows = new Map<string, AssetRow>();
  /** Each site as the floor's last write to it left it (rema's cache, in short), least recent first. */
  private readonly sites = new Map<string, LockedSite>();
  /** Assets and cables of each site the targets are in. */
  private readonly sizes = new Map<string, number>();
  private readonly turns = new SiteTurns();
  /** What each held site counted for when it was stored (its size may be read again later). */
  private readonly counted = new Map<string, number>();
  /** Assets and cables of the sites held, as counted when each was stored. */
  private held = 0;
  /** Held sites' assets and cables at most, as rema's cache (`REMA_SITE_CACHE_ENTITIES`). */
  maxEntities = siteCacheSizeFromEnv();
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
    const sizes = await this.pool.query<{ site_id: string; n: number }>(
      `SELECT site_id, sum(n)::int AS n FROM (SELECT site_id, count(*) AS n FROM config.assets WHERE site_id = ANY($1::uuid[]) GROUP BY site_id
                                        UNION ALL SELECT site_id, count(*) FROM config.connections WHERE site_id = ANY($1::uuid[]) GROUP BY site_id) x GROUP BY site_id`,
      [[...new Set(targets.map((t) => t.siteId))]],
    );
    for (const r of sizes.rows) this.sizes.set(r.site_id, r.n);
  }

  /**
   * One single-asset configuration write: the statements of rema's write, nothing else. As rema's,
   * the floor's writes to one site take turns ({@link SiteTurns}).
   */
  async write(assetId: string, opts: { alone?: boolean } = {}): Promise<void> {
    const siteId = this.rows.get(assetId)?.site_id;
    if (siteId === undefined) throw new Error(`floor: asset ${assetId} not loaded`);
    const endTurn = await this.turns.take(siteId);
    try {
      await this.writeInTurn(assetId, opts);
    } finally {
      endTurn();
    }
  }

  private async writeInTurn(assetId: string, opts: { alone?: boolean }): Promise<void> {
    const was = this.rows.get(assetId);
    if (!was) throw new Error(`floor: asset ${assetId} not loaded`);
    const offset = nextOffset(Number(was.config.calibrationOffset ?? 0));
    const now: AssetRow = { ...was, config: { ...was.config, calibrationOffset: offset }, config_version: was.config_version + 1, version: was.version + 1 };
    const known = this.sites.get(was.site_id);
    const held = (opts.alone ?? true) ? known : undefined;
    const client = await this.pool.connect();
    try {
      if (held) {
        const alone = this.statement(held, was, now);
        try {
          await client.query(alone.query);
          return this.wrote(alone.site, was, now);
        } catch (err) {
          // Another writer moved the site on (its revision, or its audit chain): nothing was kept; write under the lock.
          const code = (err as { code?: unknown }).code;
          if (code !== 'P0001' && code !== '23505') throw err;
          this.forgetSite(was.site_id); // the lock statement below reads the site: `known` is no longer its revision
        }
      }
      // As withTransaction on rema's pipelining pool: BEGIN goes with the lock, COMMIT with the write.
      const [begun, locked] = together(client, () => [
        client.query(FLOOR_SQL.begin),
        // The graph is read unless the floor's last write left the site as it is (rema's cache, current).
        client.query(prepared(FLOOR_SQL.lockSite, [was.id, was.site_id, known?.revision ?? -1, known?.version ?? -1])),
      ] as const);
      begun.catch(() => {});
      const site = (await locked).rows[0] as LockedSite;
      await begun;
      const write = this.statement(site, was, now);
      const [written, commit] = await Promise.allSettled(together(client, () => [client.query(write.query), client.query(FLOOR_SQL.commit)] as const));
      if (written.status === 'rejected') throw written.reason;
      if (commit.status === 'rejected') throw commit.reason;
      if (commit.value.command !== 'COMMIT') throw new Error(`floor: the transaction ended with ${commit.value.command}`);
      this.wrote(write.site, was, now);
    } catch (err) {
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Keeps the row, and the site as the write left it. */
  private wrote(site: LockedSite, was: AssetRow, now: AssetRow) {
    this.rows.set(was.id, now);
    this.forgetSite(site.id); // re-inserted below: most recently written last, as rema's cache
    this.sites.set(site.id, site);
    const size = this.sizes.get(site.id) ?? 0;
    this.counted.set(site.id, size);
    this.held += size;
    for (const [oldest] of this.sites) {
      if (this.held <= this.maxEntities || oldest === site.id) break;
      this.forgetSite(oldest);
    }
  }

  private forgetSite(siteId: string) {
    if (this.sites.delete(siteId)) this.held -= this.counted.get(siteId) ?? 0;
    this.counted.delete(siteId);
  }

  /**
   * The write statement of the change from `was` to `now` onto `site` as given (its revision and
   * audit chain head), and the site as the statement leaves it.
   */
  private statement(site: LockedSite, was: AssetRow, now: AssetRow) {
    // Ids as rema makes them (time-ordered): the same places in the same indexes.
    const changesetId = newId();
    const requestId = newId();
    const offset = now.config.calibrationOffset;
    const revision = Number(site.revision) + 1;
    const operations = [{ op: 'updateAsset', id: now.id, expectedVersion: was.version, patch: { config: { calibrationOffset: offset } } }];
    const scope = `site:${site.id}`;
    const before = view(was) as JsonObject;
    const after = view(now) as JsonObject;
    const diff = [
      { op: 'replace' as const, path: '/version', value: now.version },
      { op: 'replace' as const, path: '/configVersion', value: now.config_version },
      { op: 'replace' as const, path: '/config/calibrationOffset', value: offset },
    ];
    const fields = {
      scope, seq: Number(site.head_seq) + 1, at: new Date().toISOString(), actor: this.actor, requestId, changesetId, service: 'config',
      orgId: site.org_id, siteId: site.id, siteRevision: revision, entityType: 'asset', entityId: now.id, action: 'update',
      outcome: 'applied' as const, before, after, diff, comment: null, sourceIp: '127.0.0.1', violations: null,
    };
    const hash = hashEvent(site.head_hash, fields);
    const event = {
      scope, seq: fields.seq, at: fields.at, actor: this.actor, request_id: requestId, changeset_id: changesetId, service: 'config',
      org_id: site.org_id, site_id: site.id, site_revision: revision, entity_type: 'asset', entity_id: now.id, action: 'update',
      outcome: 'applied', before, after, diff, comment: null, source_ip: '127.0.0.1', violations: null, prev_hash: site.head_hash, hash,
    };
    const query = prepared(
      FLOOR_SQL.write,
      [
        JSON.stringify([now]),
        JSON.stringify([{ asset_id: now.id, version: now.config_version, site_id: now.site_id, parent_id: now.parent_id, port: now.port, config: now.config, changeset_id: changesetId }]),
        site.name, site.timezone, JSON.stringify(site.network), site.version, site.id,
        changesetId, site.id, revision, JSON.stringify(this.actor), requestId, null, JSON.stringify(operations),
        JSON.stringify([event]), JSON.stringify([{ scope, seq: fields.seq, hash }]),
        JSON.stringify([
          {
            topic: 'config.asset.updated',
            key: now.id,
            payload: { siteId: site.id, orgId: site.org_id, changesetId, siteRevision: revision, entityId: now.id, before, after, requestId, actor: this.actor },
          },
        ]),
        revision,
      ],
    );
    return { query, site: { ...site, revision, head_seq: fields.seq, head_hash: hash } };
  }
}

/** Collapses whitespace, so two spellings of one statement compare equal. */
export const normalizeSql = (text: string) => text.replace(/\s+/g, ' ').trim();
