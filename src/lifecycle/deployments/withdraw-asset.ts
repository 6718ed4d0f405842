import type pg from 'pg';
import type { AuditActor } from '../../audit/types.ts';
import { lockSlot } from '../devices/device-store.ts';
import { deployLockKey } from './create-deployment.ts';
import { auditDeploymentSteps } from './deployment-store.ts';
import { queueClearsOfAsset } from './retained-clears.ts';

/** An asset the configuration service took out of service, as far as deployments care. */
export interface AssetWithdrawal {
  assetId: string;
  how: 'retired' | 'deleted';
  /** Its site, from the event (the site of its deployments is locked too, should they differ). */
  siteId: string | null;
  /** The site revision of the change that took it out of service (every event of a change carries it; null: every deployment is older). */
  siteRevision: number | null;
  actor: AuditActor;
  requestId: string | null;
  /** The event that told us, e.g. `config.asset.deleted #42`. */
  source: string;
}

/**
 * How long the consumer waits for the asset's slot. A device write holds the slot while it calls
 * the configuration service, whose write may wait for the site's audit chain head — held by this
 * transaction when an earlier event of its page appended to that chain: a cycle through the
 * application that PostgreSQL cannot see. The wait ends it; the consumer then takes its events
 * one at a time, holding nothing when it waits for a slot.
 */
export const SLOT_WAIT_MS = 2000;

/**
 * Takes an asset that left service out of deployments, in the consumer's transaction: under
 * the deployment lock of its site and the lock of its slot (before any audit chain head, as a
 * device write takes them), it is recorded out of service with the revision that did it (a
 * deployment planned on an older revision is refused), its targets still pending or awaiting
 * their ack in running deployments planned before that revision are cancelled (audited on each
 * deployment, `withdraw-targets`), and every topic whose configuration came from such a
 * deployment is queued to be cleared (`retained-clears.ts`). Deployments planned at or after
 * the revision — the asset was back in service when they read the site — are left alone.
 * Idempotent: a replayed event finds nothing open and queues the same clears again, which
 * clear nothing more.
 */
export async function withdrawAsset(client: pg.PoolClient, w: AssetWithdrawal): Promise<void> {
  const { rows: sites } = await client.query<{ site_id: string }>(
    `SELECT DISTINCT d.site_id FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id WHERE t.asset_id = $1`,
    [w.assetId],
  );
  // Sorted, as the runner takes them. Across the events of one consumer page they may come in
  // another order: a deadlock PostgreSQL detects, after which the consumer goes one event at a time.
  const keys = [...new Set([...(w.siteId ? [w.siteId] : []), ...sites.map((s) => s.site_id)].map(deployLockKey))].sort();
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [keys]);
  await lockSlot(client, w.assetId, { waitMs: SLOT_WAIT_MS });
  if (w.siteRevision !== null) await client.query(
    `INSERT INTO lifecycle.assets_out_of_service (asset_id, how, site_revision, source) VALUES ($1, $2, $3, $4)
     ON CONFLICT (asset_id) DO UPDATE SET how = EXCLUDED.how, site_revision = EXCLUDED.site_revision, since = now(), source = EXCLUDED.source
      WHERE assets_out_of_service.site_revision <= EXCLUDED.site_revision`,
    [w.assetId, w.how, w.siteRevision, w.source],
  );
  const reason = `asset ${w.how} (${w.source})`;
  const { rows: cancelled } = await client.query<{ deployment_id: string; org_id: string; site_id: string }>(
    `UPDATE lifecycle.deployment_targets t SET status = 'cancelled', finished_at = now(), error = $2
       FROM lifecycle.deployments d
      WHERE d.id = t.deployment_id AND d.status = 'running' AND t.status IN ('pending', 'sent') AND t.asset_id = $1
        AND (d.site_revision IS NULL OR $3::bigint IS NULL OR d.site_revision < $3)
      RETURNING t.deployment_id, d.org_id, d.site_id`,
    [w.assetId, reason, w.siteRevision],
  );
  await auditDeploymentSteps(
    client,
    cancelled.map((c) => ({
      deployment: { id: c.deployment_id, orgId: c.org_id, siteId: c.site_id },
      step: { action: 'withdraw-targets', actor: w.actor, requestId: w.requestId, before: null, after: { assetIds: [w.assetId], reason } },
    })),
  );
  await queueClearsOfAsset(client, w.assetId, w.siteRevision, reason);
}
