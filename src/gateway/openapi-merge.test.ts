import { describe, expect, it } from 'vitest';
import { mergeOpenApi } from './openapi-merge.ts';

const doc = (paths: Record<string, object>, extra: object = {}) => ({ openapi: '3.1.0', info: { title: 'x', version: '0.1.0', description: 'rema' }, paths, ...extra });

describe('merging the services’ OpenAPI documents', () => {
  it('lists every routed path once, with the components and tags of all', () => {
    const { document, unrouted } = mergeOpenApi(
      [
        { service: 'config', document: doc({ '/v1/sites': { get: {} }, '/healthz': { get: {} }, '/v1/internal/events/config': { get: {} } }, { components: { schemas: { Problem: { type: 'object' }, Site: {} } }, tags: [{ name: 'sites' }] }) },
        { service: 'lifecycle', document: doc({ '/v1/sites/{id}/drift': { get: {} }, '/healthz': { get: {} } }, { components: { schemas: { Problem: { type: 'object' } } }, tags: [{ name: 'deployments' }, { name: 'sites' }] }) },
        { service: 'admin', document: doc({ '/v1/audit': { get: {} }, '/v1/assets/{id}/history': { get: {} } }) },
      ],
      { title: 'rema' },
    );
    expect(Object.keys(document.paths as object)).toEqual(['/healthz', '/v1/assets/{id}/history', '/v1/audit', '/v1/sites', '/v1/sites/{id}/drift']);
    expect(Object.keys((document.components as { schemas: object }).schemas)).toEqual(expect.arrayContaining(['Problem', 'Site']));
    expect((document.tags as Array<{ name: string }>).map((t) => t.name)).toEqual(['sites', 'deployments']);
    expect(document.info).toEqual({ title: 'rema', version: '0.1.0', description: 'rema' });
    expect(unrouted).toEqual([]);
  });

  it('reports a path that the route table would send to another service', () => {
    const { document, unrouted } = mergeOpenApi([{ service: 'lifecycle', document: doc({ '/v1/sites/{id}/weather': { get: {} } }) }], { title: 'rema' });
    expect(unrouted).toEqual([{ service: 'lifecycle', path: '/v1/sites/{id}/weather' }]);
    expect(document.paths).toEqual({});
  });
});
