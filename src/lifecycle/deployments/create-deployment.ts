import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import type { AuditActor } from '../../audit/types.ts';
import { withTransaction } from '../../db/tx.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted, type IdempotencyClaim } from '../../http/idempotency.ts';
import type { ConfigClient } from '../config-client.ts';
import type { DeploymentRequest } from '../deps.ts';
import { askConfig } from './config-errors.ts';
import { auditDeployment, auditState, insertDeployment, type DeploymentView } from './deployment-store.ts';
import { planTargets } from './plan-targets.ts';
import { outOfService, retarget } from './retained-clears.ts';
import { newId } from '../../core/ids.ts';

/**
 * The site's deployment lock: taken exclusively to create a deployment (which supersedes older
 * targets), shared by the runner while it steps and publishes one.
 */
export const deployLockKey = (siteId: string) => `lifecycle.deploy:${siteId}`;

export const DEPLOYMENT_DEFAULTS = { batchSize: 10, failureThreshold: 0.1, timeoutMs: 30_000 } as const;

export interface CreateDeploymentDeps {
  pool: pg.Pool;
  config: ConfigClient;
  mqtt: MqttClient | undefined;
}

export interface DeployContext {
  actor: AuditActor;
  requestId: string;
  sourceIp?: string | null;
  /** The request's `Idempotency-Key` claim: marked committed in the deployment's own transaction. */
  idempotency?: IdempotencyClaim;
}

/**
 * Creates a running deployment: resolves every target's desired configuration and gateway
 * from the configuration service, then — in one transaction — supersedes the still-open
 * targets of older deployments to the same assets, stores the deployment with its pending
 * targets and audits it, and returns it as created. The runner takes it from there.
 *
 * Refuses with 503 while no broker is connected (nothing could be sent), 404 for an unknown
 * site, 422 for assets outside the site, retired (also when retired or deleted after the graph
 * was read), or without a gateway.
 *
 * @example
 *   const d = await createDeployment(deps, { siteId, assetIds: [meterId] }, { actor, requestId });
 */
export async function createDeployment(deps: CreateDeploymentDeps, req: DeploymentRequest, ctx: DeployContext): Promise<DeploymentView> {
  if (!deps.mqtt?.connected) {
    throw new ApiError('SERVICE_UNAVAILABLE', 'No MQTT broker is connected, so no configuration can be sent; retry once the broker is back.', {
      headers: { 'retry-after': '5' },
    });
  }
  const graph = await askConfig(() => deps.config.getSiteGraph(req.siteId));
  if (!graph) throw new ApiError('NOT_FOUND', `Site ${req.siteId} does not exist.`);

  const batchSize = req.batchSize ?? DEPLOYMENT_DEFAULTS.batchSize;
  const plan = planTargets(graph, { assetIds: req.assetIds, batchSize });
  if (plan.kind === 'invalid') {
    throw new ApiError('VALIDATION_FAILED', `${plan.errors.length} target(s) cannot be deployed.`, { extra: { errors: plan.errors } });
  }

  const id = newId();
  const assetIds = plan.targets.map((t) => t.assetId);
  const created = await withTransaction(deps.pool, async (client) => {
    // Deployments of one site are created one at a time, so two cannot both claim an asset, and
    // not while a runner is publishing one of the site's deployments.
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [deployLockKey(req.siteId)]);
    // The graph was read before the lock: an asset may have left service since (the lifecycle
    // service records it, with the site revision that did it, under this lock when the
    // configuration service's event comes).
    const gone = await outOfService(client, assetIds, graph.site);
    if (gone.size > 0) {
      throw new ApiError('VALIDATION_FAILED', `${gone.size} target(s) left service while the deployment was being created.`, {
        extra: {
          errors: plan.targets.flatMap((t) => {
            const how = gone.get(t.assetId);
            if (!how) return [];
            const i = req.assetIds?.indexOf(t.assetId) ?? -1;
            return [{ in: 'body' as const, path: i >= 0 ? `/assetIds/${i}` : '', message: `asset ${t.assetId} was ${how} meanwhile; it gets no configuration` }];
          }),
        },
      });
    }
    await supersede(client, id, assetIds, ctx);
    // Each asset's configuration now goes to this gateway: a clear queued for its topic is taken
    // back, and its topics under other gateways (it was moved) are queued to be cleared.
    await retarget(client, plan.targets, `configuration deployed through another gateway (deployment ${id})`);
    const created = await insertDeployment(
      client,
      {
        id,
        orgId: graph.site.orgId,
        siteId: graph.site.id,
        batchSize,
        failureThreshold: req.failureThreshold ?? DEPLOYMENT_DEFAULTS.failureThreshold,
        timeoutMs: req.timeoutMs ?? DEPLOYMENT_DEFAULTS.timeoutMs,
        actor: ctx.actor,
        requestId: ctx.requestId,
        comment: req.comment ?? null,
        siteRevision: graph.site.revision,
      },
      plan.targets,
    );
    await auditDeployment(client, created, {
      action: 'create',
      actor: ctx.actor,
      requestId: ctx.requestId,
      comment: req.comment ?? null,
      sourceIp: ctx.sourceIp,
      before: null,
      after: { ...auditState(created), siteCode: graph.site.code, assets: plan.targets.map((t) => ({ assetId: t.assetId, configVersion: t.configVersion, batch: t.batch })) },
    });
    await markClaimCommitted(client, ctx.idempotency, `/v1/deployments/${id}`);
    return created;
  });
  // As created: the runner may have started its first batch since, which GET shows.
  return created;
}

/**
 * A newer deployment wins: open targets of running deployments to the same assets are
 * cancelled (their retained topic is about to carry the newer configuration), and each
 * deployment touched is audited. Their acks, should they still come, are honoured as acks.
 */
async function supersede(client: pg.PoolClient, newId: string, assetIds: string[], ctx: DeployContext): Promise<void> {
  const { rows } = await client.query<{ deployment_id: string; org_id: string; site_id: string; assets: string[] }>(
    `WITH hit AS (
       UPDATE lifecycle.deployment_targets t SET status = 'cancelled', finished_at = now(), error = $2
         FROM lifecycle.deployments d
        WHERE d.id = t.deployment_id AND d.status = 'running' AND t.status IN ('pending', 'sent') AND t.asset_id = ANY($1::uuid[])
        RETURNING t.deployment_id, t.asset_id, d.org_id, d.site_id)
     SELECT deployment_id, org_id, site_id, array_agg(asset_id::text ORDER BY asset_id) AS assets FROM hit GROUP BY deployment_id, org_id, site_id`,
    [assetIds, `superseded by deployment ${newId}`],
  );
  for (const r of rows) {
    await auditDeployment(client, { id: r.deployment_id, orgId: r.org_id, siteId: r.site_id }, {
      action: 'supersede-targets',
      actor: ctx.actor,
      requestId: ctx.requestId,
      before: null,
      after: { supersededBy: newId, assetIds: r.assets },
    });
  }
}
