/**
 * OpenAPI 3.1 generated from the routes' own schemas, served at `/openapi.json`, with
 * Swagger UI at `/docs`. Schemas added with `app.addSchema({ $id })` become components under
 * their `$id`, so `{ $ref: 'Problem' }` reads as `#/components/schemas/Problem`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ProblemSchema } from './problem.ts';

/** Tags grouping the operations in the docs; services tag their routes with these names. */
export const apiTags = [
  { name: 'sites', description: 'Sites and their network (config service)' },
  { name: 'assets', description: 'Gateways, controllers, meters and sensors (config service)' },
  { name: 'connections', description: 'Wiring between asset ports (config service)' },
  { name: 'changesets', description: 'Validated multi-entity changes (config service)' },
  { name: 'rules', description: 'Validation rules (config service)' },
  { name: 'models', description: 'Device model catalog (config service)' },
  { name: 'devices', description: 'Physical devices and lifecycle (lifecycle service)' },
  { name: 'deployments', description: 'Configuration deployments over MQTT (lifecycle service)' },
  { name: 'firmware', description: 'Firmware releases (lifecycle service)' },
  { name: 'admin', description: 'Organisations, users, roles and tokens (admin service)' },
  { name: 'auth', description: 'Login and tokens (admin service)' },
  { name: 'audit', description: 'Audit log queries and exports (admin service)' },
  { name: 'ops', description: 'Health, readiness and metrics' },
];

const PROBLEM_REF = '#/components/schemas/Problem';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;

/**
 * Problem responses are documented with `application/problem+json`, the media type the error
 * handler sends, though routes declare them as ordinary (typed) response schemas.
 */
export function useProblemMediaType(paths: unknown): void {
  if (!isObject(paths)) return;
  for (const operations of Object.values(paths)) {
    if (!isObject(operations)) continue;
    for (const operation of Object.values(operations)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue;
      for (const response of Object.values(operation.responses)) {
        if (!isObject(response) || !isObject(response.content)) continue;
        const json = response.content['application/json'];
        if (isObject(json) && isObject(json.schema) && json.schema.$ref === PROBLEM_REF) {
          response.content = { 'application/problem+json': json };
        }
      }
    }
  }
}

/**
 * Marks a query parameter with a default as optional: the schemas say `required` so that the
 * handlers' types have the value (validation fills the default in), but a client may leave it
 * out.
 */
export function optionalWhenDefaulted(paths: unknown): void {
  if (!isObject(paths)) return;
  for (const operations of Object.values(paths)) {
    if (!isObject(operations)) continue;
    for (const operation of Object.values(operations)) {
      if (!isObject(operation) || !Array.isArray(operation.parameters)) continue;
      for (const parameter of operation.parameters) {
        if (isObject(parameter) && parameter.in === 'query' && isObject(parameter.schema) && 'default' in parameter.schema) parameter.required = false;
      }
    }
  }
}

export interface OpenApiOptions {
  title?: string;
  version?: string;
}

/**
 * Registers the shared `Problem` schema, @fastify/swagger (OpenAPI 3.1, bearer auth required
 * unless a route sets `security: []`), `GET /openapi.json` and Swagger UI at `/docs`.
 * Must run before services register their routes, so that every route is documented.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions = {}): Promise<void> {
  app.addSchema(ProblemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title ?? 'rema API',
        version: options.version ?? '0.1.0',
        description:
          'Configuration of IoT equipment: validated, conflict-free, audited writes. ' +
          'Errors are RFC 9457 problem+json; see the Problem schema for every code.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token or a session token from /v1/auth/login' },
        },
      },
      security: [{ bearerAuth: [] }],
      tags: apiTags,
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      useProblemMediaType(document.openapiObject.paths);
      optionalWhenDefaulted(document.openapiObject.paths);
      return document.openapiObject;
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
