/**
 * Retained configurations that must leave the broker. A gateway gets each of its devices'
 * desired configurations as a retained message on the asset's topic under that gateway, and
 * gets it again at every reconnect. When the asset is deleted or retired, or is deployed
 * through another gateway (it was moved), the old message would configure a device that is no
 * longer there — or whatever was wired in its place — so the topic is cleared with an empty
 * retained message (docs/mqtt.md).
 *
 * What to clear is queued in `lifecycle.retained_clears`, in the transaction that decides it
 * (the configuration event of the asset leaving service, the deployment through another
 * gateway), under the site's deployment lock; the runner publishes the clears and deletes each
 * one it published, so none is lost to a broker outage or a restart. A deployment that sends
 * the asset's configuration to a topic again takes back the clear queued for that topic, under
 * the same lock, so a clear never removes a newer configuration.
 */
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { withTransaction } from '../../db/tx.ts';
import { publishJson } from '../../mqtt/client.ts';
import { desiredTopic } from '../../mqtt/topics.ts';

/** A desired-configuration topic: the asset's, under one gateway of one site. */
export interface ConfigTopic {
  assetId: string;
  siteCode: string;
  gatewayId: string;
}

/** The topics of `$1`–`$3` ({@link topicParams}) as a relation `t(asset_id, site_code, gateway_id)`. */
const TOPICS = `unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(asset_id, site_code, gateway_id)`;
const topicParams = (topics: readonly ConfigTopic[]) => [topics.map((t) => t.assetId), topics.map((t) => t.siteCode), topics.map((t) => t.gatewayId)];

/** Clears published in one transaction at most. */
export const CLEARS_PER_ROUND = 200;

/**
 * Queues a clear of every topic the asset's configuration was published to (a target that was
 * sent, and not cleared since) by a deployment of its site, unless a deployment planned at or
 * after site revision `revision` — when the asset left service — has sent to it or may still
 * send to it: the asset was back in service when that one read the site, and the topic is its. Without a revision,
 * every topic. Call under the site's deployment lock, with the asset's open targets closed.
 */
export async function queueClearsOfAsset(client: pg.PoolClient, of: { assetId: string; siteId: string | null; revision: number | null }, reason: string): Promise<number> {
  const { rowCount } = await client.query(
    `INSERT INTO lifecycle.retained_clears (asset_id, site_code, gateway_id, reason)
     SELECT DISTINCT t.asset_id, t.site_code, t.gateway_id, $4
       FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id
      WHERE t.asset_id = $1 AND t.sent_at IS NOT NULL AND t.cleared_at IS NULL AND ($2::uuid IS NULL OR d.site_id = $2)
        AND NOT EXISTS (SELECT 1 FROM lifecycle.deployment_targets n JOIN lifecycle.deployments nd ON nd.id = n.deployment_id
                         WHERE n.asset_id = t.asset_id AND n.site_code = t.site_code AND n.gateway_id = t.gateway_id
                           AND nd.site_revision >= $3::bigint AND (n.sent_at IS NOT NULL OR n.status IN ('pending', 'sent')))
     ON CONFLICT (asset_id, site_code, gateway_id) DO UPDATE SET reason = EXCLUDED.reason, queued_at = now()`,
    [of.assetId, of.siteId, of.revision, reason],
  );
  return rowCount ?? 0;
}

/**
 * For a deployment about to send these topics, under the site's deployment lock: takes back
 * the clears queued for them, and queues one for every other topic each asset's configuration
 * was sent to and not cleared since (the asset was moved to another gateway).
 */
export async function retarget(client: pg.PoolClient, topics: readonly ConfigTopic[], reason: string): Promise<void> {
  if (topics.length === 0) return;
  await client.query(
    `WITH t AS (SELECT * FROM ${TOPICS}),
          taken_back AS (DELETE FROM lifecycle.retained_clears c USING t
                          WHERE c.asset_id = t.asset_id AND c.site_code = t.site_code AND c.gateway_id = t.gateway_id)
     INSERT INTO lifecycle.retained_clears (asset_id, site_code, gateway_id, reason)
     SELECT DISTINCT o.asset_id, o.site_code, o.gateway_id, $4
       FROM lifecycle.deployment_targets o JOIN t ON t.asset_id = o.asset_id
      WHERE o.sent_at IS NOT NULL AND o.cleared_at IS NULL AND (o.site_code, o.gateway_id) <> (t.site_code, t.gateway_id)
     ON CONFLICT (asset_id, site_code, gateway_id) DO UPDATE SET reason = EXCLUDED.reason, queued_at = now()`,
    [...topicParams(topics), reason],
  );
}

/**
 * The assets of `assetIds` that left service in `site` after its revision `site.revision` (as
 * the configuration service's events said), with how: a deployment planned on that revision
 * would send them a configuration. One that left earlier and is in the graph again was returned
 * to service since; revisions of other sites say nothing.
 */
export async function outOfService(client: pg.PoolClient, assetIds: readonly string[], site: { id: string; revision: number }): Promise<Map<string, 'retired' | 'deleted'>> {
  if (assetIds.length === 0) return new Map();
  const { rows } = await client.query<{ asset_id: string; how: 'retired' | 'deleted' }>(
    `SELECT asset_id, how FROM lifecycle.assets_out_of_service WHERE asset_id = ANY($1::uuid[]) AND site_id = $2 AND site_revision > $3`,
    [assetIds, site.id, site.revision],
  );
  return new Map(rows.map((r) => [r.asset_id, r.how]));
}

/**
 * Forgets assets that left service more than `retentionMs` ago (the outbox retention): what
 * {@link outOfService} guards against is a deployment planned on a site graph read just before
 * an asset left — seconds before its creation takes the site's lock — never one that old. An
 * event of such an asset replayed later records it again, as of its own revision.
 *
 * @returns how many were forgotten.
 */
export async function pruneOutOfService(pool: pg.Pool, retentionMs: number): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM lifecycle.assets_out_of_service WHERE since < $1`, [new Date(Date.now() - retentionMs)]);
  return rowCount ?? 0;
}

/**
 * Publishes queued clears (an empty retained message, QoS 1) and deletes each one the broker
 * acknowledged; one it did not stays queued for the next round. The rows are locked while
 * their clears are published, so a deployment taking one back waits for this to commit and
 * then publishes its configuration after the clear.
 *
 * @returns the number of topics cleared.
 */
export async function publishClears(pool: pg.Pool, mqtt: MqttClient, opts: { timeoutMs?: number; log?: { warn(obj: object, msg: string): void } } = {}): Promise<number> {
  // Most rounds find none: one query, without a transaction.
  if ((await pool.query(`SELECT 1 FROM lifecycle.retained_clears LIMIT 1`)).rowCount === 0) return 0;
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ asset_id: string; site_code: string; gateway_id: string }>(
      `SELECT asset_id, site_code, gateway_id FROM lifecycle.retained_clears ORDER BY queued_at LIMIT ${CLEARS_PER_ROUND} FOR UPDATE SKIP LOCKED`,
    );
    if (rows.length === 0) return 0;
    const cleared: ConfigTopic[] = [];
    await Promise.all(
      rows.map(async (r) => {
        try {
          await publishJson(mqtt, desiredTopic(r.site_code, r.gateway_id, r.asset_id), null, { retain: true, timeoutMs: opts.timeoutMs ?? 5000 });
          cleared.push({ assetId: r.asset_id, siteCode: r.site_code, gatewayId: r.gateway_id });
        } catch (err) {
          opts.log?.warn({ err, assetId: r.asset_id, gatewayId: r.gateway_id }, 'retained configuration not cleared; retrying');
        }
      }),
    );
    if (cleared.length > 0) {
      // What was sent to these topics is gone from the broker: nothing queues it for clearing again.
      // Targets locked right now (being withdrawn, say) are left as they are: at worst their topic
      // is cleared once more.
      await client.query(
        `WITH t AS (SELECT * FROM ${TOPICS}),
              done AS (DELETE FROM lifecycle.retained_clears c USING t
                        WHERE c.asset_id = t.asset_id AND c.site_code = t.site_code AND c.gateway_id = t.gateway_id)
         UPDATE lifecycle.deployment_targets d SET cleared_at = now()
          WHERE (d.deployment_id, d.asset_id) IN (
                  SELECT s.deployment_id, s.asset_id FROM lifecycle.deployment_targets s JOIN t
                      ON s.asset_id = t.asset_id AND s.site_code = t.site_code AND s.gateway_id = t.gateway_id
                   WHERE s.sent_at IS NOT NULL AND s.cleared_at IS NULL
                     FOR UPDATE OF s SKIP LOCKED)`,
        topicParams(cleared),
      );
    }
    return cleared.length;
  });
}
