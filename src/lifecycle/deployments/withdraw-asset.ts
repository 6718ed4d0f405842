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
  /** Its site, from the event. */
  siteId: string | null;
  /** The site revision of the change that took it out of service (every event of a change carries it). */
  siteRevision: number | null;
  actor: AuditActor;
  requestId: string | null;
  /** The event that told us, e.g. `config.asset.deleted #42`. */
  source: string;
}

/**
 * How long the consumer waits for any lock while it handles an asset leaving service. A device
 * write holds the asset's slot or its device row while it calls the configuration service, whose
 * write may wait for the site's audit chain head — held by the consumer's transaction when an
 * earlier event of its page appended to that chain: a cycle through the application that
 * PostgreSQL cannot see. The bounded wait ends it: the page rolls back and the consumer takes its
 * events one at a time, where it takes the slot and the device before any chain head.
 */
export const WITHDRAWAL_LOCK_WAIT_MS = 2000;

/**
 * The locks of an asset leaving service, first thing in the consumer's handling of it, with every
 * wait of that handling bounded ({@link WITHDRAWAL_LOCK_WAIT_MS}; {@link endWithdrawal} lifts
 * the bound): the deployment lock of its site, sorted as the runner takes them (across the events
 * of one page they may come in another order — a deadlock PostgreSQL detects, after which the
 * consumer goes one event at a time), then its slot.
 */
export async function beginWithdrawal(client: pg.PoolClient, w: Pick<AssetWithdrawal, 'assetId' | 'siteId'>): Promise<void> {
  await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${WITHDRAWAL_LOCK_WAIT_MS}ms`]);
  // The event names the site; without it, the sites of the asset's deployments.
  const siteIds = w.siteId
    ? [w.siteId]
    : (
        await client.query<{ site_id: string }>(
          `SELECT DISTINCT d.site_id FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id WHERE t.asset_id = $1`,
          [w.assetId],
        )
      ).rows.map((s) => s.site_id);
  const keys = siteIds.map(deployLockKey).sort();
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [keys]);
  await lockSlot(client, w.assetId);
}

/** Lifts the bound {@link beginWithdrawal} put on the transaction's lock waits. */
export async function endWithdrawal(client: pg.PoolClient): Promise<void> {
  await client.query(`SET LOCAL lock_timeout TO DEFAULT`);
}

/**
 * Takes an asset that left service out of its site's deployments, in the consumer's transaction,
 * after {@link beginWithdrawal}: it is recorded out of service with its site and the revision
 * that did it (a deployment of that site planned on an older revision is refused); its targets
 * still pending or awaiting their ack in running deployments of the site planned before that
 * revision are cancelled (audited on each deployment, `withdraw-targets`); and every topic whose
 * configuration came from such a deployment, and that no deployment planned since sends to, is
 * queued to be cleared (`retained-clears.ts`). Deployments planned at or after the revision — the
 * asset was back in service when they read the site — and deployments of other sites are left
 * alone. Idempotent: a replayed event finds nothing open and
 * queues the same clears again, which clear nothing more.
 */
export async function withdrawAsset(client: pg.PoolClient, w: AssetWithdrawal): Promise<void> {
  if (w.siteId !== null && w.siteRevision !== null) {
    await client.query(
      `INSERT INTO lifecycle.assets_out_of_service (asset_id, site_id, how, site_revision, source) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (asset_id) DO UPDATE SET site_id = EXCLUDED.site_id, how = EXCLUDED.how, site_revision = EXCLUDED.site_revision, since = now(), source = EXCLUDED.source
        WHERE assets_out_of_service.site_id <> EXCLUDED.site_id OR assets_out_of_service.site_revision <= EXCLUDED.site_revision`,
      [w.assetId, w.siteId, w.how, w.siteRevision, w.source],
    );
  }
  const reason = `asset ${w.how} (${w.source})`;
  const { rows: cancelled } = await client.query<{ deployment_id: string; org_id: string; site_id: string }>(
    `UPDATE lifecycle.deployment_targets t SET status = 'cancelled', finished_at = now(), error = $2
       FROM lifecycle.deployments d
      WHERE d.id = t.deployment_id AND d.status = 'running' AND t.status IN ('pending', 'sent') AND t.asset_id = $1
        AND ($3::uuid IS NULL OR d.site_id = $3)
        AND (d.site_revision IS NULL OR $4::bigint IS NULL OR d.site_revision < $4)
      RETURNING t.deployment_id, d.org_id, d.site_id`,
    [w.assetId, reason, w.siteId, w.siteRevision],
  );
  await auditDeploymentSteps(
    client,
    cancelled.map((c) => ({
      deployment: { id: c.deployment_id, orgId: c.org_id, siteId: c.site_id },
      step: { action: 'withdraw-targets', actor: w.actor, requestId: w.requestId, before: null, after: { assetIds: [w.assetId], reason } },
    })),
  );
  await queueClearsOfAsset(client, { assetId: w.assetId, siteId: w.siteId, revision: w.siteRevision }, reason);
}
