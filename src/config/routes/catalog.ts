import { Type } from 'typebox';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { rules } from '../../core/rules/registry.ts';
import type { ConfigDeps } from './context.ts';

const PortSpec = Type.Object({
  name: Type.String(),
  type: Type.String(),
  capacity: Type.Number(),
  signals: Type.Optional(Type.Array(Type.String())),
});
const ModelView = Type.Object({
  id: Type.String(),
  vendor: Type.String(),
  model: Type.String(),
  kind: Type.String(),
  description: Type.String(),
  ports: Type.Array(PortSpec),
  capabilities: Type.Array(Type.Object({ name: Type.String(), minFirmware: Type.String() })),
  firmware: Type.Array(Type.String()),
  unitLoad: Type.Optional(Type.Number()),
  points: Type.Optional(Type.Number()),
  poll: Type.Optional(Type.Object({ requestBytes: Type.Number(), responseBytes: Type.Number(), turnaroundMs: Type.Number() })),
  gateway: Type.Optional(Type.Object({ pointCapacity: Type.Number(), minPollIntervalMs: Type.Number() })),
  meter: Type.Optional(Type.Object({ ctSecondary: Type.Array(Type.String()), maxPhases: Type.Number() })),
  sensor: Type.Optional(
    Type.Object({ measurand: Type.String(), unit: Type.String(), range: Type.Object({ min: Type.Number(), max: Type.Number() }), outputs: Type.Array(Type.String()) }),
  ),
});
const RuleView = Type.Object({ id: Type.String(), title: Type.String(), description: Type.String(), codes: Type.Array(Type.String()), severity: Type.String() });

/** The device-model catalog and the rule registry, read-only. */
export function catalogRoutes(app: HttpApp, deps: ConfigDeps) {
  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Device models of the built-in catalog',
        querystring: Type.Object({ kind: Type.Optional(Type.Union(['gateway', 'controller', 'meter', 'sensor'].map((k) => Type.Literal(k)))), vendor: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: Type.Object({ items: Type.Array(ModelView) }) },
      },
    },
    async (request) => {
      const { kind, vendor } = request.query;
      const items = deps.catalog.models.filter((m) => (!kind || m.kind === kind) && (!vendor || m.vendor.toLowerCase() === vendor.toLowerCase()));
      return { items };
    },
  );

  app.get(
    '/v1/models/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'One device model with the JSON Schema of its configuration document',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Type.Intersect([ModelView, Type.Object({ configSchema: Type.Object({}, { additionalProperties: true }) })]) },
      },
    },
    async (request) => {
      const model = deps.catalog.get(request.params.id);
      if (!model) throw new ApiError('NOT_FOUND', `No device model "${request.params.id}"; GET /v1/models lists them.`);
      return { ...model, configSchema: deps.catalog.configSchema(model.id) as Record<string, unknown> };
    },
  );

  app.get(
    '/v1/rules',
    { schema: { tags: ['catalog'], summary: 'Every validation rule, with the codes it can report', response: { 200: Type.Object({ items: Type.Array(RuleView) }) } } },
    async () => ({ items: rules.map((r) => ({ id: r.id, title: r.title, description: r.description, codes: r.codes, severity: r.severity })) }),
  );
}
