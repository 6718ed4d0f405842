import { Type } from 'typebox';
import type { Static } from 'typebox';
import { authorize } from '../../auth/install-auth.ts';
import type { AssetViewData } from '../../core/changes/views.ts';
import { configHash } from '../../core/config-hash.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { problemResponses } from '../../http/problem.ts';
import type { LifecycleDeps } from '../deps.ts';
import { askConfig } from './config-errors.ts';
import { countedReportedStates, type CountedState } from './deployed-through.ts';
import { gatewayOf } from './plan-targets.ts';
import { AssetDeploymentState, AssetDeploymentStateDetail, SiteDrift } from './schemas.ts';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
type StateView = Static<typeof AssetDeploymentState>;

/**
 * Desired (the latest version, from the configuration service), deployed (the version the
 * device acknowledged, from the configuration service) and reported (what the device says it
 * runs, from its retained state message, when it came through the gateway the asset is deployed
 * through) side by side. Drift = the reported hash is not the
 * desired hash, or nothing is reported.
 */
function stateOf(asset: AssetViewData, gatewayId: string | null, reported: CountedState | undefined): StateView {
  const desired = { version: asset.configVersion, hash: configHash(asset.config) };
  const driftReason = !reported ? 'not_reported' : reported.hash !== desired.hash ? 'hash_differs' : null;
  return {
    assetId: asset.id,
    siteId: asset.siteId,
    name: asset.name,
    kind: asset.kind,
    gatewayId,
    desired,
    deployed: asset.deployedVersion === null ? null : { version: asset.deployedVersion },
    reported: reported ? { version: reported.version, hash: reported.hash, gatewayId: reported.gateway_id, reportedAt: reported.reported_at.toISOString() } : null,
    drift: driftReason !== null,
    driftReason,
  };
}

/** Per-asset deployment state and per-site drift (lifecycle service; the site path is routed here too). */
export function driftRoutes(app: HttpApp, deps: LifecycleDeps) {
  // Only states reported through the path each asset is deployed through now count.
  const reportedOf = (assetIds: string[]) => countedReportedStates(deps.pool, assetIds);

  app.get(
    '/v1/assets/:id/deployment-state',
    {
      schema: {
        tags: ['deployments'],
        summary: "An asset's desired, deployed and reported configuration, and its last deployment",
        params: IdParams,
        response: { 200: AssetDeploymentStateDetail, ...problemResponses(404, 503) },
      },
    },
    async (request) => {
      const notFound = `Asset ${request.params.id} does not exist.`;
      const found = await askConfig(() => deps.config.getAsset(request.params.id));
      if (!found) throw new ApiError('NOT_FOUND', notFound);
      const { asset } = found;
      const graph = await askConfig(() => deps.config.getSiteGraph(asset.siteId));
      if (!graph) throw new ApiError('NOT_FOUND', notFound);
      authorize(request, 'read', { orgId: graph.site.orgId, siteId: graph.site.id }, notFound);
      const byId = new Map(graph.assets.map((a) => [a.id, a]));
      const gateway = gatewayOf(asset, byId);
      const reported = (await reportedOf([asset.id])).get(asset.id);
      const { rows } = await deps.pool.query(
        `SELECT d.id, d.status, d.created_at, t.config_version, t.status AS target_status, t.error
           FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id
          WHERE t.asset_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT 1`,
        [asset.id],
      );
      const last = rows[0];
      return {
        ...stateOf(asset, gateway?.id ?? null, reported),
        lastDeployment: last
          ? { id: last.id, status: last.status, createdAt: (last.created_at as Date).toISOString(), target: { configVersion: last.config_version, status: last.target_status, error: last.error } }
          : null,
      };
    },
  );

  app.get(
    '/v1/sites/:id/drift',
    {
      schema: {
        tags: ['deployments'],
        summary: 'Every asset of a site with desired, deployed and reported configuration, and whether it drifted',
        description: 'Retired assets are left out: no device is expected to run their configuration.',
        params: IdParams,
        querystring: Type.Object({ driftOnly: Type.Optional(Type.Boolean({ description: 'Only assets that drifted or report nothing' })) }),
        response: { 200: SiteDrift, ...problemResponses(404, 503) },
      },
    },
    async (request) => {
      const notFound = `Site ${request.params.id} does not exist.`;
      const graph = await askConfig(() => deps.config.getSiteGraph(request.params.id));
      if (!graph) throw new ApiError('NOT_FOUND', notFound);
      authorize(request, 'read', { orgId: graph.site.orgId, siteId: graph.site.id }, notFound);
      const byId = new Map(graph.assets.map((a) => [a.id, a]));
      const live = graph.assets.filter((a) => a.status !== 'retired').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const reported = await reportedOf(live.map((a) => a.id));
      const states = live.map((a) => stateOf(a, gatewayOf(a, byId)?.id ?? null, reported.get(a.id)));
      const summary = {
        assets: states.length,
        inSync: states.filter((s) => !s.drift).length,
        drifted: states.filter((s) => s.driftReason === 'hash_differs').length,
        notReported: states.filter((s) => s.driftReason === 'not_reported').length,
      };
      return { siteId: graph.site.id, siteCode: graph.site.code, summary, assets: request.query.driftOnly ? states.filter((s) => s.drift) : states };
    },
  );
}
