import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { authorize, principalOf } from '../../auth/install-auth.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { problemResponses } from '../../http/problem.ts';
import type { LifecycleDeps } from '../deps.ts';
import { cancelDeployment } from './cancel-deployment.ts';
import { askConfig } from './config-errors.ts';
import type { DeployContext } from './create-deployment.ts';
import { listDeployments, loadDeployment, loadTargets } from './deployment-store.ts';
import { CancelRequest, DeploymentCreate, DeploymentDetail, DeploymentSchema, ListQuery } from './schemas.ts';

const tags = ['deployments'];
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Cursor = Type.Object({ at: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$' }), id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }) });

const isCalendarTime = (at: string) => {
  const t = Date.parse(at);
  return Number.isFinite(t) && t > 0 && new Date(t).toISOString().slice(0, 19) === at.slice(0, 19);
};

export const deployContext = (request: FastifyRequest): DeployContext => ({ actor: request.actor, requestId: String(request.id), sourceIp: request.ip, idempotency: request.idempotency });

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
      const notFound = `Site ${request.body.siteId} does not exist.`;
      const site = await askConfig(() => deps.config.getSite(request.body.siteId));
      if (!site) throw new ApiError('NOT_FOUND', notFound);
      authorize(request, 'deploy', { orgId: site.orgId, siteId: site.id }, notFound);
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
      // A date the pattern allows but the calendar does not (Feb 30) would fail in PostgreSQL.
      if (after && !isCalendarTime(after.at)) {
        throw new ApiError('INVALID_CURSOR', 'The cursor is not one this list issued; pass the nextCursor of the previous page unchanged, or omit it.');
      }
      const principal = principalOf(request);
      // Every role may read; what a principal sees is the organisations and sites it is bound to.
      const scopes = principal.kind === 'service' ? null : principal.bindings.map((b) => ({ orgId: b.orgId, siteId: b.siteId }));
      const rows = await listDeployments(deps.pool, { siteId, status, after, limit, scopes });
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
      const deployment = await visibleDeployment(request, request.params.id, 'read');
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
    async (request) => {
      await visibleDeployment(request, request.params.id, 'deploy');
      return cancelDeployment(deps.pool, request.params.id, deployContext(request), request.body.reason ?? null);
    },
  );

  /** The deployment, if it exists and the caller may `permission` on its site; 404 otherwise (403 when only the permission is missing). */
  async function visibleDeployment(request: FastifyRequest, id: string, permission: 'read' | 'deploy') {
    const notFound = `Deployment ${id} does not exist.`;
    const deployment = await loadDeployment(deps.pool, id);
    if (!deployment) throw new ApiError('NOT_FOUND', notFound);
    authorize(request, permission, { orgId: deployment.orgId, siteId: deployment.siteId }, notFound);
    return deployment;
  }
}
