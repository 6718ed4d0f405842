import { Type, type Static } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { requireService } from '../../auth/install-auth.ts';
import { actorOf } from '../../auth/principal.ts';
import { assetView } from '../../core/changes/views.ts';
import type { HttpApp } from '../../http/app.ts';
import { toApiError } from '../../http/error-handler.ts';
import { ApiError } from '../../http/errors.ts';
import { problemOf } from '../../http/problem.ts';
import { AssetView, IdParams, Uuid } from '../api-schemas.ts';
import { assetEtag, type ConfigDeps, writeContext } from './context.ts';
import { singleOperationPointer, type WriteContext } from '../write-path.ts';
import { getAsset } from './assets.ts';

const Behalf = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const DeployedItem = Type.Object(
  {
    assetId: Uuid,
    configVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Request id the audit event carries (the deployment\'s)' })),
    onBehalfOf: Type.Optional(Behalf),
  },
  { additionalProperties: false },
);
type DeployedItem = Static<typeof DeployedItem>;
const DeployedResult = Type.Object({
  assetId: Uuid,
  status: Type.Integer({ description: '200 recorded; otherwise the status a single PUT …/deployed would have answered' }),
  problem: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

/** Change sets of one bulk request run side by side, on this many sites at a time. */
const SITES_IN_PARALLEL = 4;

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

  app.post(
    '/v1/internal/deployed',
    {
      schema: {
        tags: ['internal'],
        summary: 'Record many acknowledged configuration versions at once',
        description:
          'The bulk form of `PUT /v1/internal/assets/{id}/deployed`, for the device lifecycle service relaying acks: the items of one site (and one request id and user) ' +
          'become one change set of `markDeployed` operations on the write path. When that change set is refused, its items are recorded one by one, so each answers ' +
          'exactly as its own PUT would have. Always 200 with a result per item, in order; a failure of the service itself answers 5xx for the whole request.',
        body: Type.Object({ items: Type.Array(DeployedItem, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ results: Type.Array(DeployedResult) }) },
      },
    },
    async (request) => {
      requireService(request);
      const { items } = request.body;
      const { rows } = await deps.pool.query<{ id: string; site_id: string }>(`SELECT id, site_id FROM config.assets WHERE id = ANY($1::uuid[])`, [
        [...new Set(items.map((i) => i.assetId))],
      ]);
      const siteOf = new Map(rows.map((r) => [r.id, r.site_id]));
      const results: Array<{ assetId: string; status: number; problem?: Record<string, unknown> }> = items.map((i) => ({ assetId: i.assetId, status: 200 }));
      const refuse = (index: number, err: unknown) => {
        const error = toApiError(err, String(request.id));
        if (error.status >= 500) throw err;
        results[index] = { assetId: items[index].assetId, status: error.status, problem: problemOf(error, request) };
      };
      const groups = new Map<string, number[]>();
      items.forEach((item, index) => {
        const siteId = siteOf.get(item.assetId);
        if (!siteId) return refuse(index, new ApiError('NOT_FOUND', `Asset ${item.assetId} does not exist.`));
        const key = [siteId, item.requestId ?? '', item.onBehalfOf?.id ?? '', item.onBehalfOf?.name ?? ''].join('\u0000');
        groups.set(key, [...(groups.get(key) ?? []), index]);
      });

      const record = async (siteId: string, indexes: number[]): Promise<void> => {
        try {
          await deps.writePath.execute(
            { siteId, operations: indexes.map((i) => ({ op: 'markDeployed' as const, id: items[i].assetId, configVersion: items[i].configVersion })) },
            itemContext(request, items[indexes[0]]),
          );
        } catch (err) {
          if (indexes.length === 1) return refuse(indexes[0], err);
          if (toApiError(err).status >= 500) throw err;
          // One refused item refuses its whole change set: record the items one by one instead.
          for (const i of indexes) await record(siteId, [i]);
        }
      };
      const queue = [...groups.values()];
      await Promise.all(
        Array.from({ length: Math.min(SITES_IN_PARALLEL, queue.length) }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await record(siteOf.get(items[next[0]].assetId) as string, next);
        }),
      );
      return { results };
    },
  );
}

/** The write context of one item: its request id, and the user the service acts for. */
function itemContext(request: FastifyRequest, item: DeployedItem): WriteContext {
  const base = writeContext(request);
  const actor = item.onBehalfOf ? actorOf({ ...request.principal, onBehalfOf: item.onBehalfOf }) : base.actor;
  // One request, several change sets: no one of them may mark the request's Idempotency-Key as its own.
  return { ...base, actor, requestId: item.requestId ?? base.requestId, idempotency: undefined };
}
