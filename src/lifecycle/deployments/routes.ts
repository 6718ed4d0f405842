import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { problemResponses } from '../../http/problem.ts';
import type { LifecycleDeps } from '../deps.ts';
import { cancelDeployment } from './cancel-deployment.ts';
import type { DeployContext } from './create-deployment.ts';
import { listDeployments, loadDeployment, loadTargets } from './deployment-store.ts';
import { CancelRequest, DeploymentCreate, DeploymentDetail, DeploymentSchema, ListQuery } from './schemas.ts';

const tags = ['deployments'];
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Cursor = Type.Object({ at: Type.String({ maxLength: 40 }), id: Type.String({ format: 'uuid' }) });

export const deployContext = (request: FastifyRequest): DeployContext => ({ actor: request.actor, requestId: String(request.id), sourceIp: request.ip });

/** Deployments of desired configuration to devices over MQTT (lifecycle service). */
export function deploymentRoutes(app: HttpApp, deps: LifecycleDeps) {
  app.post(
    '/v1/deployments',
    {
      schema: {
        tags,
        summary: 'Deploy desired configuration to a site, or to some of its assets',
        description:
          "Resolves every target's latest configuration version and the gateway that carries it, then sends it in batches over MQTT (retained, QoS 1). A target is acknowledged only by its gateway's ack; failed and silent targets above `failureThreshold` abort the remaining batches. 503 while no MQTT broker is connected.",
        body: DeploymentCreate,
        response: { 201: DeploymentSchema, ...problemResponses(404, 422, 503) },
      },
    },
    async (request, reply) => {
      const { id } = await deps.deploy(request.body, deployContext(request));
      const created = await loadDeployment(deps.pool, id);
      if (!created) throw new Error(`deployment ${id} missing after creation`);
      reply.code(201).header('Location', `/v1/deployments/${id}`);
      return created;
    },
  );

  app.get(
    '/v1/deployments',
    {
      schema: {
        tags,
        summary: 'Deployments, newest first',
        querystring: Type.Object({ ...ListQuery.properties, ...pageQueryProperties }),
        response: { 200: Page(DeploymentSchema) },
      },
    },
    async (request) => {
      const { siteId, status, limit, cursor } = request.query;
      const after = cursor ? decodeCursor(cursor, Cursor) : null;
      if (after && Number.isNaN(Date.parse(after.at))) throw new ApiError('INVALID_CURSOR', 'The cursor is not one this list issued; omit it to start over.');
      const rows = await listDeployments(deps.pool, { siteId, status, after, limit });
      const page = toPage(rows, limit, (d) => ({ at: d.cursorKey, id: d.id }));
      return { items: page.items.map(({ cursorKey: _key, ...d }) => d), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/deployments/:id',
    {
      schema: {
        tags,
        summary: 'A deployment with the result of every target',
        params: IdParams,
        response: { 200: DeploymentDetail, ...problemResponses(404) },
      },
    },
    async (request) => {
      const deployment = await loadDeployment(deps.pool, request.params.id);
      if (!deployment) throw new ApiError('NOT_FOUND', `Deployment ${request.params.id} does not exist.`);
      return { ...deployment, results: await loadTargets(deps.pool, deployment.id) };
    },
  );

  app.post(
    '/v1/deployments/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a running deployment',
        description: 'No further batch starts; targets still pending or awaiting their ack become `cancelled`. 409 when the deployment already ended.',
        params: IdParams,
        body: CancelRequest,
        response: { 200: DeploymentSchema, ...problemResponses(404, 409) },
      },
      // The body is optional: a bare POST cancels without a reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => cancelDeployment(deps.pool, request.params.id, deployContext(request), request.body.reason ?? null),
  );
}
