import type pg from 'pg';
import { withTransaction } from '../../db/tx.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted } from '../../http/idempotency.ts';
import { auditDeployment, auditState, loadDeployment, type DeploymentView } from './deployment-store.ts';
import type { DeployContext } from './create-deployment.ts';

/**
 * Cancels a running deployment: no further batch starts, open targets become `cancelled`,
 * the deployment ends `cancelled`; audited in the same transaction. Configuration already
 * published stays (it is the asset's desired configuration); a device that still applies
 * and acknowledges it is recorded as deployed, because it then runs it.
 *
 * Waits for the runner's lock on the deployment, so a cancel and a batch start never
 * interleave. A deployment that already ended is refused with 409.
 */
export async function cancelDeployment(pool: pg.Pool, id: string, ctx: DeployContext, reason: string | null): Promise<DeploymentView> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ status: string }>(`SELECT status FROM lifecycle.deployments WHERE id = $1 FOR UPDATE`, [id]);
    if (!rows[0]) throw new ApiError('NOT_FOUND', `Deployment ${id} does not exist.`);
    const before = await loadDeployment(client, id);
    if (!before) throw new ApiError('NOT_FOUND', `Deployment ${id} does not exist.`);
    if (before.status !== 'running') {
      const message = `Deployment ${id} already ended (${before.status}); only a running deployment can be cancelled.`;
      throw new ApiError('CONFLICT_RULES', message, {
        extra: { violations: [{ rule: 'deployment-cancel', code: 'DEPLOYMENT_NOT_RUNNING', message, assetIds: [], severity: 'error' }] },
      });
    }
    const why = reason ?? 'cancelled on request';
    await client.query(
      `UPDATE lifecycle.deployment_targets SET status = 'cancelled', finished_at = now(), error = $2 WHERE deployment_id = $1 AND status IN ('pending', 'sent')`,
      [id, `deployment cancelled: ${why}`],
    );
    await client.query(`UPDATE lifecycle.deployments SET status = 'cancelled', reason = $2, updated_at = now(), finished_at = now() WHERE id = $1`, [id, why]);
    const after = await loadDeployment(client, id);
    await auditDeployment(client, before, {
      action: 'cancel',
      actor: ctx.actor,
      requestId: ctx.requestId,
      comment: reason,
      sourceIp: ctx.sourceIp,
      before: auditState(before),
      after: after ? auditState(after) : null,
    });
    await markClaimCommitted(client, ctx.idempotency, `/v1/deployments/${id}`);
  });
  const view = await loadDeployment(pool, id);
  if (!view) throw new ApiError('NOT_FOUND', `Deployment ${id} does not exist.`);
  return view;
}
