import type pg from 'pg';
import type { AuditActor } from '../../audit/types.ts';
import { deployLockKey } from './create-deployment.ts';
import { auditDeploymentSteps } from './deployment-store.ts';
import { queueClearsOfAsset } from './retained-clears.ts';

/** An asset the configuration service took out of service, as far as deployments care. */
export interface AssetWithdrawal {
  assetId: string;
  how: 'retired' | 'deleted';
  /** Its site, from the event (the site of its deployments is locked too, should they differ). */
  siteId: string | null;
  actor: AuditActor;
  requestId: string | null;
  /** The event that told us, e.g. `config.asset.deleted #42`. */
  source: string;
}

/**
 * Takes an asset that left service out of deployments, in the consumer's transaction, under
 * the deployment lock of its site: it is recorded out of service (a deployment planned on a
 * graph read before this is refused), its targets still pending or awaiting their ack in
 * running deployments are cancelled (audited on each deployment, `withdraw-targets`), and
 * every topic its configuration was published to is queued to be cleared
 * (`retained-clears.ts`). Idempotent: a replayed event finds nothing open and queues the same
 * clears again, which clear nothing more.
 */
export async function withdrawAsset(client: pg.PoolClient, w: AssetWithdrawal): Promise<void> {
  const { rows: sites } = await client.query<{ site_id: string }>(
    `SELECT DISTINCT d.site_id FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id WHERE t.asset_id = $1`,
    [w.assetId],
  );
  // In one order everywhere, as the runner takes them.
  const keys = [...new Set([...(w.siteId ? [w.siteId] : []), ...sites.map((s) => s.site_id)].map(deployLockKey))].sort();
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [keys]);
  await client.query(
    `INSERT INTO lifecycle.assets_out_of_service (asset_id, how, source) VALUES ($1, $2, $3)
     ON CONFLICT (asset_id) DO UPDATE SET how = EXCLUDED.how, since = now(), source = EXCLUDED.source`,
    [w.assetId, w.how, w.source],
  );
  const reason = `asset ${w.how} (${w.source})`;
  const { rows: cancelled } = await client.query<{ deployment_id: string; org_id: string; site_id: string }>(
    `UPDATE lifecycle.deployment_targets t SET status = 'cancelled', finished_at = now(), error = $2
       FROM lifecycle.deployments d
      WHERE d.id = t.deployment_id AND d.status = 'running' AND t.status IN ('pending', 'sent') AND t.asset_id = $1
      RETURNING t.deployment_id, d.org_id, d.site_id`,
    [w.assetId, reason],
  );
  await auditDeploymentSteps(
    client,
    cancelled.map((c) => ({
      deployment: { id: c.deployment_id, orgId: c.org_id, siteId: c.site_id },
      step: { action: 'withdraw-targets', actor: w.actor, requestId: w.requestId, before: null, after: { assetIds: [w.assetId], reason } },
    })),
  );
  await queueClearsOfAsset(client, w.assetId, reason);
}

/** An asset returned from retirement: deployments may send it again at once. */
export async function reinstateAsset(client: pg.PoolClient, assetId: string): Promise<void> {
  await client.query(`DELETE FROM lifecycle.assets_out_of_service WHERE asset_id = $1`, [assetId]);
}
