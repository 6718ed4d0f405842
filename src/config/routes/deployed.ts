import { Type } from 'typebox';
import { requireService } from '../../auth/install-auth.ts';
import { assetView } from '../../core/changes/views.ts';
import type { HttpApp } from '../../http/app.ts';
import { AssetView, IdParams } from '../api-schemas.ts';
import { assetEtag, type ConfigDeps, writeContext } from './context.ts';
import { singleOperationPointer } from '../write-path.ts';
import { getAsset } from './assets.ts';

/**
 * Records which configuration version an asset's device has acknowledged. Until it moves, the
 * resources that version claims (unit id, IP, channel) stay taken. Called by the device
 * lifecycle side when an acknowledgement arrives; it goes through the write path like any write.
 * Service principals only: no user or token may declare what a device runs.
 */
export function deployedRoutes(app: HttpApp, deps: ConfigDeps) {
  app.put(
    '/v1/internal/assets/:id/deployed',
    {
      schema: {
        tags: ['internal'],
        summary: 'Record the configuration version the device acknowledged (null: nothing deployed)',
        params: IdParams,
        body: Type.Object({ configVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]) }, { additionalProperties: false }),
        response: { 200: AssetView },
      },
    },
    async (request, reply) => {
      requireService(request);
      const current = await getAsset(deps, request.params.id, request, 'config.write');
      const outcome = await deps.writePath.execute(
        { siteId: current.siteId, operations: [{ op: 'markDeployed', id: current.id, configVersion: request.body.configVersion }], pointer: singleOperationPointer },
        writeContext(request),
      );
      const asset = outcome.graph.assets.get(current.id) ?? current;
      reply.header('ETag', assetEtag(asset));
      return assetView(asset);
    },
  );
}
