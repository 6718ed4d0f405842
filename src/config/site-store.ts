import type pg from 'pg';
import { lockHeadCte, type ChainHead } from '../audit/append.ts';
import { prepared } from '../db/pool.ts';
import type { AssetKind } from '../core/catalog/types.ts';
import type { Asset, AssetPlacement, AssetStatus, ConfigDoc, Connection, Site, SiteGraph, SiteNetwork } from '../core/graph/types.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

interface SiteRow {
  id: string;
  org_id: string;
  code: string;
  name: string;
  timezone: string;
  network: SiteNetwork;
  revision: number;
  version: number;
}

export const siteFromRow = (r: SiteRow): Site => ({
  id: r.id,
  orgId: r.org_id,
  code: r.code,
  name: r.name,
  timezone: r.timezone,
  network: r.network,
  revision: Number(r.revision),
  version: r.version,
});

/** Locks the site row for the rest of the transaction: writes to one site serialise here. */
export async function lockSite(client: Queryable, siteId: string): Promise<Site | undefined> {
  const { rows } = await client.query<SiteRow>(
    `SELECT id, org_id, code, name, timezone, network, revision, version FROM config.sites WHERE id = $1 FOR UPDATE`,
    [siteId],
  );
  return rows[0] && siteFromRow(rows[0]);
}

interface AssetRow {
  id: string;
  site_id: string;
  kind: AssetKind;
  model_id: string;
  name: string;
  serial: string | null;
  status: AssetStatus;
  firmware: string | null;
  parent_id: string | null;
  port: string | null;
  config: ConfigDoc;
  config_version: number;
  version: number;
  deployed_version: number | null;
  d_parent_id: string | null;
  d_port: string | null;
  d_config: ConfigDoc | null;
}

export const ASSET_COLUMNS = `a.id, a.site_id, a.kind, a.model_id, a.name, a.serial, a.status, a.firmware, a.parent_id, a.port,
  a.config, a.config_version, a.version, a.deployed_version`;

/** Row → Asset; `d_*` columns carry the deployed version's placement when it differs from the desired one. */
export function assetFromRow(r: AssetRow): Asset {
  let deployed: Asset['deployed'] = null;
  if (r.deployed_version !== null) {
    const placement: AssetPlacement =
      r.deployed_version === r.config_version || r.d_config === null
        ? { parentId: r.parent_id, port: r.port, config: r.config }
        : { parentId: r.d_parent_id, port: r.d_port, config: r.d_config };
    deployed = { version: r.deployed_version, ...placement };
  }
  return {
    id: r.id,
    siteId: r.site_id,
    kind: r.kind,
    modelId: r.model_id,
    name: r.name,
    serial: r.serial,
    status: r.status,
    firmware: r.firmware,
    parentId: r.parent_id,
    port: r.port,
    config: r.config,
    configVersion: r.config_version,
    version: r.version,
    deployed,
  };
}

/**
 * Assets with the placement of their deployed version. The version is looked up per asset, by
 * its primary key (the `LIMIT 1` keeps the subquery from being flattened into a join): as a
 * plain join, the generic plan of a prepared statement hashes the whole of
 * `config.config_versions` — hundreds of ms on a large fleet — to read a few dozen rows.
 */
export const ASSET_SELECT = `SELECT ${ASSET_COLUMNS}, v.parent_id AS d_parent_id, v.port AS d_port, v.config AS d_config
  FROM config.assets a
  LEFT JOIN LATERAL (
    SELECT v.parent_id, v.port, v.config FROM config.config_versions v
     WHERE v.asset_id = a.id AND v.version = a.deployed_version AND a.deployed_version <> a.config_version LIMIT 1
  ) v ON true`;

interface ConnectionRow {
  id: string;
  site_id: string;
  a_asset_id: string;
  a_port: string;
  b_asset_id: string;
  b_port: string;
  label: string | null;
  length_m: number;
  version: number;
}

export const CONNECTION_COLUMNS = 'id, site_id, a_asset_id, a_port, b_asset_id, b_port, label, length_m, version';

export const connectionFromRow = (r: ConnectionRow): Connection => ({
  id: r.id,
  siteId: r.site_id,
  a: { assetId: r.a_asset_id, port: r.a_port },
  b: { assetId: r.b_asset_id, port: r.b_port },
  label: r.label,
  lengthM: Number(r.length_m),
  version: r.version,
});

/**
 * One round trip for a whole site: PostgreSQL aggregates the asset rows (with deployed
 * placements) and the cable rows into two JSON arrays, which arrive as one value and are
 * parsed natively instead of row by row.
 */
const assetsJson = (siteId: string) => `(SELECT coalesce(json_agg(q), '[]') FROM (${ASSET_SELECT} WHERE a.site_id = ${siteId}) q)`;
const connectionsJson = (siteId: string) => `(SELECT coalesce(json_agg(c), '[]') FROM (SELECT ${CONNECTION_COLUMNS} FROM config.connections c WHERE c.site_id = ${siteId}) c)`;
const SITE_GRAPH = `SELECT ${assetsJson('$1')} AS assets, ${connectionsJson('$1')} AS connections`;

/** Reads a whole site: its assets (with deployed placements) and its cables. */
export async function loadSiteGraph(client: Queryable, site: Site): Promise<SiteGraph> {
  const { rows } = await client.query<{ assets: AssetRow[]; connections: ConnectionRow[] }>(prepared(SITE_GRAPH, [site.id]));
  return graphFromRows(site, rows[0].assets, rows[0].connections);
}

const graphFromRows = (site: Site, assets: AssetRow[], connections: ConnectionRow[]): SiteGraph => ({
  site,
  assets: new Map(assets.map((r) => [r.id, assetFromRow(r)])),
  connections: new Map(connections.map((r) => [r.id, connectionFromRow(r)])),
});

/**
 * Which site a write locks: the site itself, or the site of an existing asset or cable — looked
 * up in the statement that takes the lock, so a write to one entity costs no round trip to find
 * its site. (An asset or cable never changes site.)
 */
export type SiteOf = string | { asset: string } | { connection: string };

const siteIdSql = (of: SiteOf) =>
  typeof of === 'string' ? '$1' : 'asset' in of ? '(SELECT site_id FROM config.assets WHERE id = $1)' : '(SELECT site_id FROM config.connections WHERE id = $1)';

/**
 * The statement of {@link lockSiteForWrite}: the site row, then the head of its audit chain;
 * and, unless the caller's copy ($2 site, $3 revision, $4 version) is the current one, the site's
 * assets and cables. `seen_revision` is the revision in the statement's snapshot, taken before
 * the lock was granted: when it differs from the locked row's, a write committed while this one
 * waited, and the graph read in that snapshot may miss it.
 */
export const lockForWriteSql = (of: SiteOf) => {
  const stale = `site.id IS DISTINCT FROM $2::uuid OR site.revision <> $3::bigint OR site.version <> $4::int`;
  return `WITH site AS (
    SELECT id, org_id, code, name, timezone, network, revision, version FROM config.sites WHERE id = ${siteIdSql(of)} FOR UPDATE
  ), ${lockHeadCte('head', `SELECT 'site:' || id, 0, NULL FROM site`)}
  SELECT site.*, head.seq AS head_seq, head.hash AS head_hash,
    (SELECT s.revision FROM config.sites s WHERE s.id = site.id) AS seen_revision,
    CASE WHEN ${stale} THEN ${assetsJson('site.id')} END AS assets,
    CASE WHEN ${stale} THEN ${connectionsJson('site.id')} END AS connections
  FROM site LEFT JOIN head ON true`;
};

const LOCK_FOR_WRITE = { site: lockForWriteSql('site'), asset: lockForWriteSql({ asset: '' }), connection: lockForWriteSql({ connection: '' }) };

interface LockedRow extends SiteRow {
  head_seq: number | string;
  head_hash: string | null;
  seen_revision: number | string;
  assets: AssetRow[] | null;
  connections: ConnectionRow[] | null;
}

/**
 * {@link lockSite} for a write that will be audited, with what validation reads, in one round
 * trip: it locks the site row and the head of the site's audit chain (site first, then head: the
 * order every appender to the site's chain keeps), so the write's events can be chained without
 * another one; and it returns the site's graph — the cached copy when it is current, else the one
 * the statement read. Undefined when the site — or the asset or cable whose site it is — does
 * not exist.
 */
export async function lockSiteForWrite(
  client: Queryable,
  of: SiteOf,
  cache?: SiteGraphCache,
): Promise<{ site: Site; auditHead: ChainHead; graph: SiteGraph } | undefined> {
  const [sql, id] = typeof of === 'string' ? [LOCK_FOR_WRITE.site, of] : 'asset' in of ? [LOCK_FOR_WRITE.asset, of.asset] : [LOCK_FOR_WRITE.connection, of.connection];
  const cached = cache?.find(of);
  const { rows } = await client.query<LockedRow>(prepared(sql, [id, cached?.site.id ?? null, cached?.site.revision ?? -1, cached?.site.version ?? -1]));
  const r = rows[0];
  if (!r) return undefined;
  const site = siteFromRow(r);
  const auditHead = { seq: Number(r.head_seq), hash: r.head_hash };
  if (r.assets === null || r.connections === null) {
    // The copy in hand is current: the statement read no graph.
    if (cached && cached.site.id === site.id && cached.site.revision === site.revision && cached.site.version === site.version) return { site, auditHead, graph: cached };
    return { site, auditHead, graph: await loadSiteGraph(client, site) };
  }
  // Read before the lock was granted, while another write to the site was committing: read again.
  if (Number(r.seen_revision) !== site.revision) return { site, auditHead, graph: await loadSiteGraph(client, site) };
  return { site, auditHead, graph: graphFromRows(site, r.assets, r.connections) };
}

/** Two stale copies of a site within this long make its writes take the lock for as long (see {@link SiteGraphCache.markStale}). */
const CONTENDED_MS = 30_000;

/** The default bound of the site-graph cache: the whole reference fleet (25,000 assets, ~24,000 cables). */
export const DEFAULT_SITE_CACHE_ENTITIES = 60_000;

/**
 * The site-graph cache's bound in assets and cables: `REMA_SITE_CACHE_ENTITIES`, else
 * {@link DEFAULT_SITE_CACHE_ENTITIES}. Each cached entity costs ~850–900 bytes of heap (its share of the
 * graph index kept beside each held site included); a fleet
 * held whole is written to without reading its sites (docs/operations.md, "Memory"). Anything
 * but a positive whole number stops the start-up with a message saying so.
 *
 * @example
 * siteCacheSizeFromEnv('600000') // 600000
 */
export function siteCacheSizeFromEnv(raw: string | undefined = process.env.REMA_SITE_CACHE_ENTITIES): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_SITE_CACHE_ENTITIES;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`REMA_SITE_CACHE_ENTITIES must be a positive whole number of assets and cables to cache (default ${DEFAULT_SITE_CACHE_ENTITIES}); got "${raw}"`);
  }
  return value;
}

/**
 * Site graphs of recent writes, keyed by site and valid only for the revision they were read
 * at. The write path checks the revision under the site lock, or in the statement it sends
 * alone (which then keeps nothing), so a change is never committed on a copy made stale by
 * another instance.
 *
 * Bounded by what it holds — assets and cables, least recently written site out first — not by
 * sites: the default ({@link DEFAULT_SITE_CACHE_ENTITIES}) keeps the whole reference fleet,
 * and on a larger fleet the heap stays the same size instead of growing with it (a heap of many
 * hundred MB made every major garbage collection long); a site that fell out costs one query.
 */
export class SiteGraphCache {
  private readonly graphs = new Map<string, SiteGraph>();
  /**
   * The head of the audit chain of each held site as its last write left it, for a write
   * without the lock's round trip ({@link SiteGraphCache.current}); none for a site whose last
   * such write found its copy stale, until a write under the lock stores it again.
   */
  private readonly heads = new Map<string, ChainHead>();
  /**
   * Sites whose copy a write found stale: when it last did (ms), and until when their writes take
   * the lock — set when that happens twice within {@link CONTENDED_MS}: another instance writes
   * the site too, not once but on and on.
   */
  private readonly staleness = new Map<string, { at: number; lockUntil: number }>();
  /** The site of every asset and cable held, for writes that name one of those instead of its site. */
  private readonly siteOfEntity = new Map<string, string>();
  private entities = 0;
  constructor(private readonly maxEntities = DEFAULT_SITE_CACHE_ENTITIES) {}

  /** The copy held of the site a write names, whatever its revision (the lock, or the statement sent alone, tells whether it is current). */
  find(of: SiteOf): SiteGraph | undefined {
    const siteId = typeof of === 'string' ? of : this.siteOfEntity.get('asset' in of ? of.asset : of.connection);
    return siteId === undefined ? undefined : this.graphs.get(siteId);
  }

  /**
   * The copy held of the site a write names and the head of the site's audit chain after the
   * last write made here, if both are held: what a write needs to be planned without reading
   * anything. Either may be stale (another instance wrote since); a write planned on them must
   * check that it was not, in its statement.
   */
  current(of: SiteOf): { graph: SiteGraph; head: ChainHead } | undefined {
    const graph = this.find(of);
    const head = graph && this.heads.get(graph.site.id);
    return graph && head ? { graph, head } : undefined;
  }

  /**
   * Says the copy of `siteId` was stale when a write planned on it reached the database: someone
   * else (another instance, a refusal) wrote the site since. Its next write takes the lock and
   * stores a current copy; the second time within {@link CONTENDED_MS}, its writes take the lock
   * for that long — each would otherwise pay for a plan thrown away.
   */
  markStale(siteId: string, now = Date.now()) {
    this.heads.delete(siteId);
    const last = this.staleness.get(siteId);
    const again = last !== undefined && now - last.at < CONTENDED_MS;
    this.staleness.set(siteId, { at: now, lockUntil: again ? now + CONTENDED_MS : (last?.lockUntil ?? 0) });
  }

  /** Forgets the audit head of `siteId` — something else was appended to its chain (a refusal) — until a write under the lock stores it again. */
  forgetHead(siteId: string) {
    this.heads.delete(siteId);
  }

  private isContended(siteId: string, now = Date.now()): boolean {
    const s = this.staleness.get(siteId);
    if (s === undefined) return false;
    if (now < s.lockUntil) return true;
    if (now - s.at >= CONTENDED_MS) this.staleness.delete(siteId);
    return false;
  }

  /**
   * Stores `graph` as its site's copy, with the head of its audit chain when known. `change`,
   * when given, says `graph` is `from` with the assets and cables of `touched` created, changed or
   * deleted: when the copy held is `from`, only those ids can have come or gone, and only they are
   * looked at in the entity index — a write costs what it touched, not the size of its site.
   */
  set(graph: SiteGraph, change?: { from: SiteGraph; touched: { assets: Iterable<string>; connections: Iterable<string> } }, head?: ChainHead) {
    const siteId = graph.site.id;
    const old = this.graphs.get(siteId);
    if (head && !this.isContended(siteId)) this.heads.set(siteId, head);
    else if (head || old !== graph) this.heads.delete(siteId);
    if (old) {
      this.graphs.delete(siteId); // re-inserted below: most recently stored last
      this.entities -= size(old);
    }
    this.graphs.set(siteId, graph);
    this.entities += size(graph);
    if (old && old === change?.from) {
      this.reindex(siteId, change.touched.assets, graph.assets);
      this.reindex(siteId, change.touched.connections, graph.connections);
    } else {
      if (old) {
        this.forget(siteId, old.assets, graph.assets);
        this.forget(siteId, old.connections, graph.connections);
      }
      this.reindex(siteId, graph.assets.keys(), graph.assets);
      this.reindex(siteId, graph.connections.keys(), graph.connections);
    }
    // Only when over the bound: an iterator starts by stepping over the slots of every site
    // moved to the end since the map was last compacted.
    if (this.entities <= this.maxEntities) return;
    for (const [oldest] of this.graphs) {
      if (this.entities <= this.maxEntities || oldest === siteId) break;
      this.delete(oldest);
    }
  }

  delete(siteId: string) {
    const g = this.graphs.get(siteId);
    if (!g) return;
    this.graphs.delete(siteId);
    this.heads.delete(siteId);
    this.staleness.delete(siteId);
    this.forget(siteId, g.assets);
    this.forget(siteId, g.connections);
    this.entities -= size(g);
  }

  /** Points the entity index at `siteId` for those of `ids` that `held` has, and drops the others' entries of `siteId`. */
  private reindex(siteId: string, ids: Iterable<string>, held: ReadonlyMap<string, unknown>) {
    for (const id of ids) {
      if (held.has(id)) {
        if (this.siteOfEntity.get(id) !== siteId) this.siteOfEntity.set(id, siteId);
      } else if (this.siteOfEntity.get(id) === siteId) this.siteOfEntity.delete(id);
    }
  }

  /** Drops the entity index's entries of `siteId` for the ids of `held` that `kept` no longer has. */
  private forget(siteId: string, held: ReadonlyMap<string, unknown>, kept?: ReadonlyMap<string, unknown>) {
    for (const id of held.keys()) if (!kept?.has(id) && this.siteOfEntity.get(id) === siteId) this.siteOfEntity.delete(id);
  }
}

const size = (g: SiteGraph) => g.assets.size + g.connections.size;
