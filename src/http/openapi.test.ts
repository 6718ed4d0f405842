import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildHttpApp } from './app.ts';
import type { HttpApp } from './app.ts';
import { problemResponses } from './problem.ts';

let app: HttpApp;

const siteRoutes: FastifyPluginAsyncTypebox = async (v1) => {
  v1.get(
    '/sites/:id',
    {
      schema: {
        tags: ['sites'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: Type.Object({ id: Type.String() }), ...problemResponses(404) },
      },
    },
    async (request) => ({ id: request.params.id }),
  );
  v1.get(
    '/sites',
    { schema: { tags: ['sites'], querystring: Type.Object({ limit: Type.Integer({ minimum: 1, default: 50 }), q: Type.String() }) } },
    async () => ({}),
  );
};

beforeAll(async () => {
  app = await buildHttpApp({ openapi: { title: 'rema test' } });
  await app.register(siteRoutes, { prefix: '/v1' });
  await app.ready();
});
afterAll(() => app.close());

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 at /openapi.json with bearer auth and the shared Problem schema', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('rema test');
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const problem = doc.components.schemas.Problem;
    expect(problem.properties).toHaveProperty('violations');
    expect(problem.properties).toHaveProperty('errors');
    expect(doc.tags.map((t: { name: string }) => t.name)).toContain('sites');
  });

  it('documents service routes with their error responses as application/problem+json', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/v1/sites/{id}'].get;
    expect(op.responses['404'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(op.responses['200'].content['application/json']).toBeDefined();
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('documents a query parameter with a default as optional, one without as required', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const params = doc.paths['/v1/sites'].get.parameters as Array<{ name: string; required: boolean }>;
    expect(params.map((p) => [p.name, p.required])).toEqual([
      ['limit', false],
      ['q', true],
    ]);
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger-ui');
    const spec = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.json().openapi).toBe('3.1.0');
  });

  it('still serialises a route that references Problem for its error statuses', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/sites/s1' });
    expect(res.json()).toEqual({ id: 's1' });
  });
});
