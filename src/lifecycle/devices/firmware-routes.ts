import { Type } from 'typebox';
import { scopesOf } from '../../auth/install-auth.ts';
import { compareFirmware } from '../../core/catalog/catalog.ts';
import type { DeviceModel } from '../../core/catalog/types.ts';
import type { HttpApp } from '../../http/app.ts';
import { problemResponses } from '../../http/problem.ts';
import type { LifecycleDeps } from '../deps.ts';
import { firmwareCounts } from './device-store.ts';
import { ModelId } from './device-view.ts';

const FirmwareView = Type.Object({
  modelId: Type.String(),
  version: Type.String(),
  latest: Type.Boolean({ description: 'The newest published release of the model' }),
  capabilities: Type.Array(Type.String(), { description: 'Features this release enables (the catalog capabilities whose minimum it meets)' }),
  devices: Type.Integer({ description: 'Devices you may read that run it (decommissioned and returned ones not counted)' }),
});

/** The published firmware releases per device model, from the device-model catalog: any authenticated caller; device counts only of the devices it may read. */
export function firmwareRoutes(app: HttpApp, deps: LifecycleDeps) {
  app.get(
    '/v1/firmware',
    {
      schema: {
        tags: ['devices'],
        summary: 'Published firmware versions per device model, oldest first',
        querystring: Type.Object({ modelId: Type.Optional(ModelId) }),
        response: { 200: Type.Object({ items: Type.Array(FirmwareView) }), ...problemResponses(422) },
      },
    },
    async (request) => {
      const { modelId } = request.query;
      const models = modelId === undefined ? deps.catalog.models : deps.catalog.models.filter((m) => m.id === modelId);
      const counts = await firmwareCounts(deps.pool, modelId, scopesOf(request, 'read'));
      return { items: models.flatMap((m) => releasesOf(m, counts)) };
    },
  );
}

function releasesOf(model: DeviceModel, counts: Map<string, number>) {
  const newest = [...model.firmware].sort(compareFirmware).at(-1);
  return model.firmware.map((version) => ({
    modelId: model.id,
    version,
    latest: version === newest,
    capabilities: model.capabilities.filter((c) => compareFirmware(version, c.minFirmware) >= 0).map((c) => c.name),
    devices: counts.get(`${model.id}@${version}`) ?? 0,
  }));
}
