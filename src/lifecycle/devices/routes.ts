import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { authorize, authorizeIfVisible, principalOf, scopesOf } from '../../auth/install-auth.ts';
import { judgeTransitions } from '../../core/lifecycle/device-guards.ts';
import { TRANSITIONS, type Transition } from '../../core/lifecycle/device-states.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { parseIfMatch } from '../../http/etag.ts';
import { decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { problemResponses } from '../../http/problem.ts';
import type { LifecycleDeps } from '../deps.ts';
import type { DeviceWriteContext } from './device-audit.ts';
import { patchDevice, registerDevice } from './device-edits.ts';
import { getDevice, listDevices } from './device-store.ts';
import {
  DeviceCreate,
  DevicePatch,
  deviceEtag,
  DeviceView,
  deviceView,
  ModelId,
  ReplaceRequest,
  ReplaceResult,
  StateSchema,
  TransitionRequest,
  TransitionVerdictView,
  Uuid,
} from './device-view.ts';
import { deviceScope, type DeviceAccess } from './device-write.ts';
import { hideTarget, loadTransitionFacts } from './guard-facts.ts';
import { replaceDevice } from './replace-write.ts';
import { transitionDevice } from './transition-write.ts';

const IdParams = Type.Object({ id: Uuid });
const DeviceCursor = Type.Object({ id: Type.String({ format: 'uuid' }) });

const writeContext = (request: FastifyRequest): DeviceWriteContext => ({ actor: request.actor, requestId: String(request.id), sourceIp: request.ip, idempotency: request.idempotency });
const ifMatch = (request: FastifyRequest, id: string) => parseIfMatch(request.headers['if-match'], { kind: 'device', id });
const deviceNotFound = (id: string) => `Device ${id} does not exist.`;

/**
 * lifecycle.write on the device (checked by the write on the locked row), and on whatever else
 * the change involves: the site of an install's target asset, the replacement device.
 */
const lifecycleWrite = (request: FastifyRequest): DeviceAccess => ({
  device: (d) => authorize(request, 'lifecycle.write', deviceScope(d), deviceNotFound(d.id)),
  other: (scope) => authorizeIfVisible(request, 'lifecycle.write', scope),
});

/**
 * Physical devices: registered in stock, moved through the lifecycle state machine by one
 * guarded, audited transition write, swapped for a replacement.
 */
export function deviceRoutes(app: HttpApp, deps: LifecycleDeps) {
  const tags = ['devices'];

  app.post(
    '/v1/devices',
    { schema: { tags, summary: 'Register a device in stock', body: DeviceCreate, response: { 201: DeviceView, ...problemResponses(404, 409, 422) } } },
    async (request, reply) => {
      // A new device is in stock: it belongs to the organisation, not to a site yet.
      const orgId = request.body.orgId ?? principalOf(request).orgId ?? deps.defaultOrgId;
      authorize(request, 'lifecycle.write', { orgId }, `Organisation ${orgId} does not exist.`);
      const row = await registerDevice(deps, { ...request.body, orgId }, writeContext(request));
      reply.code(201).header('ETag', deviceEtag(row)).header('Location', `/v1/devices/${row.id}`);
      return deviceView(row);
    },
  );

  app.get(
    '/v1/devices',
    {
      schema: {
        tags,
        summary: 'List devices, filtered',
        querystring: Type.Object({
          siteId: Type.Optional(Uuid),
          assetId: Type.Optional(Uuid),
          state: Type.Optional(StateSchema),
          modelId: Type.Optional(ModelId),
          serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exact serial (case-insensitive)' })),
          q: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: 'Substring of the serial or firmware' })),
          ...pageQueryProperties,
        }),
        response: { 200: Page(DeviceView), ...problemResponses(400, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const after = cursor ? decodeCursor(cursor, DeviceCursor) : null;
      const page = toPage(await listDevices(deps.pool, filter, after?.id ?? null, limit, scopesOf(request, 'read')), limit, (d) => ({ id: d.id }));
      return { items: page.items.map(deviceView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/devices/:id', { schema: { tags, summary: 'Get a device', params: IdParams, response: { 200: DeviceView, ...problemResponses(404) } } }, async (request, reply) => {
    const row = await getDevice(deps.pool, request.params.id);
    if (!row) throw new ApiError('NOT_FOUND', deviceNotFound(request.params.id));
    authorize(request, 'read', deviceScope(row), deviceNotFound(row.id));
    reply.header('ETag', deviceEtag(row));
    return deviceView(row);
  });

  app.patch(
    '/v1/devices/:id',
    {
      schema: {
        tags,
        summary: 'Change the firmware or correct the serial of a device (JSON Merge Patch; If-Match required)',
        params: IdParams,
        body: DevicePatch,
        response: { 200: DeviceView, ...problemResponses(404, 409, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const row = await patchDevice(deps, request.params.id, ifMatch(request, request.params.id), request.body, writeContext(request), lifecycleWrite(request));
      reply.header('ETag', deviceEtag(row));
      return deviceView(row);
    },
  );

  app.get(
    '/v1/devices/:id/transitions',
    {
      schema: {
        tags,
        summary: 'Every lifecycle transition, whether its guards allow it now, and why not',
        params: IdParams,
        querystring: Type.Object({ assetId: Type.Optional(Type.String({ format: 'uuid', description: 'The asset an install would target' })) }),
        response: { 200: Type.Object({ deviceId: Uuid, state: StateSchema, version: Type.Integer(), items: Type.Array(TransitionVerdictView) }), ...problemResponses(404) },
      },
    },
    async (request, reply) => {
      const row = await getDevice(deps.pool, request.params.id);
      if (!row) throw new ApiError('NOT_FOUND', deviceNotFound(request.params.id));
      authorize(request, 'read', deviceScope(row), deviceNotFound(row.id));
      // Every transition's facts, so that each verdict is the one its POST would get.
      const TRANSITION_NAMES = Object.keys(TRANSITIONS) as Transition[];
      const facts = await loadTransitionFacts(deps.pool, deps.config, row, { transitions: TRANSITION_NAMES });
      const verdicts = judgeTransitions(facts);
      const target = request.query.assetId;
      if (target) {
        let installFacts = await loadTransitionFacts(deps.pool, deps.config, row, { targetAssetId: target, transitions: ['install'] });
        // An asset the caller may not read is judged as a missing one.
        const { asset, siteOrgId } = installFacts;
        if (asset && !(siteOrgId && authorizeIfVisible(request, 'read', { orgId: siteOrgId, siteId: asset.siteId }))) installFacts = hideTarget(installFacts);
        const install = judgeTransitions(installFacts).find((v) => v.transition === 'install');
        if (install) verdicts.splice(verdicts.findIndex((v) => v.transition === 'install'), 1, install);
      }
      reply.header('ETag', deviceEtag(row));
      return { deviceId: row.id, state: row.state, version: row.version, items: verdicts.map((v) => ({ ...v, from: [...v.from] })) };
    },
  );

  app.post(
    '/v1/devices/:id/transitions',
    {
      schema: {
        tags,
        summary: 'Move a device through its lifecycle (If-Match required); refused with every failing guard',
        params: IdParams,
        body: TransitionRequest,
        response: { 200: DeviceView, ...problemResponses(404, 409, 412, 422, 428, 503) },
      },
    },
    async (request, reply) => {
      const row = await transitionDevice(deps, request.params.id, ifMatch(request, request.params.id), request.body, writeContext(request), lifecycleWrite(request));
      reply.header('ETag', deviceEtag(row));
      return deviceView(row);
    },
  );

  app.post(
    '/v1/devices/:id/replace',
    {
      schema: {
        tags,
        summary: "Swap a device for one in stock of the same model (If-Match of the old device); deploys the asset's configuration to it",
        params: IdParams,
        body: ReplaceRequest,
        response: { 200: ReplaceResult, ...problemResponses(404, 409, 412, 422, 428, 503) },
      },
    },
    async (request, reply) => {
      const result = await replaceDevice(deps, request.params.id, ifMatch(request, request.params.id), request.body, writeContext(request), lifecycleWrite(request));
      reply.header('ETag', deviceEtag(result.old));
      return { ...result, old: deviceView(result.old), new: deviceView(result.new) };
    },
  );
}
