/**
 * The site code and gateway an asset is deployed through, and the reported states that count.
 *
 * An asset is deployed through the site and gateway of its latest deployment target that was
 * sent or may still be — the topic its gateway acks on (the ack path matches an ack to its
 * target's gateway and site the same way). An asset moved to another gateway reports through the
 * new one from its first deployment there on; an asset never deployed reports through none.
 *
 * A stored state counts only while it came through that path: the bridge stores no other
 * (`storeReportedStates`), and the readers — the commissioning guard and drift — ask again, so a
 * state reported through an old gateway stops counting as soon as the asset is deployed through
 * another, and one stored before the bridge checked topics never counts.
 */
import type pg from 'pg';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** The path of the asset `r.asset_id` (a lateral subquery: `site_code`, `gateway_id`). */
const PATH_OF_ASSET = `
  SELECT t.site_code, t.gateway_id
    FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id
   WHERE t.asset_id = r.asset_id AND (t.sent_at IS NOT NULL OR t.status IN ('pending', 'sent'))
   ORDER BY d.created_at DESC, d.id DESC
   LIMIT 1`;

/** Each of `assetIds` that is deployed through some path, with that path. */
export async function deployedThrough(db: Queryable, assetIds: string[]): Promise<Map<string, { siteCode: string; gatewayId: string }>> {
  const { rows } = await db.query<{ asset_id: string; site_code: string; gateway_id: string }>(
    `SELECT r.asset_id, p.site_code, p.gateway_id
       FROM unnest($1::uuid[]) AS r(asset_id) CROSS JOIN LATERAL (${PATH_OF_ASSET}) p`,
    [assetIds],
  );
  return new Map(rows.map((r) => [r.asset_id, { siteCode: r.site_code, gatewayId: r.gateway_id }]));
}

export interface CountedState {
  asset_id: string;
  version: number;
  hash: string;
  gateway_id: string;
  reported_at: Date;
}

/** The reported state of each of `assetIds` that came through the path it is deployed through now. */
export async function countedReportedStates(db: Queryable, assetIds: string[]): Promise<Map<string, CountedState>> {
  const { rows } = await db.query<CountedState>(
    `SELECT r.asset_id, r.version, r.hash, r.gateway_id, r.reported_at
       FROM lifecycle.reported_state r CROSS JOIN LATERAL (${PATH_OF_ASSET}) p
      WHERE r.asset_id = ANY($1::uuid[]) AND p.site_code = r.site_code AND p.gateway_id = r.gateway_id`,
    [assetIds],
  );
  return new Map(rows.map((r) => [r.asset_id, r]));
}
