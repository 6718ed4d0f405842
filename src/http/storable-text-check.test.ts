import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp, type HttpApp } from './app.ts';

describe('a request carrying text PostgreSQL cannot store', () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await buildHttpApp();
    app.post('/v1/things/:id', { schema: { params: Type.Object({ id: Type.String() }), body: Type.Object({ name: Type.String() }) } }, async () => ({ ok: true }));
    app.get('/v1/things', { schema: { querystring: Type.Object({ q: Type.Optional(Type.String()) }) } }, async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('is answered 422 VALIDATION_FAILED naming every field, wherever it is', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things/a%00b?x=1', payload: JSON.stringify({ name: 'x\ud800' }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [
        { in: 'params', path: '/id', message: expect.stringContaining('NUL') },
        { in: 'body', path: '/name', message: expect.stringContaining('surrogate') },
      ],
    });
    const query = await app.inject({ method: 'GET', url: '/v1/things?q=%00' });
    expect(query.statusCode).toBe(422);
    expect(query.json().errors).toEqual([expect.objectContaining({ in: 'querystring', path: '/q' })]);
  });

  it('is answered 422 for a number beyond the range of a double, which would be stored as null', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things/a', payload: '{"name":"x","limits":{"max":1e999,"min":-1e999}}', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [
        { in: 'body', path: '/limits/max', message: expect.stringContaining('finite number') },
        { in: 'body', path: '/limits/min', message: expect.stringContaining('finite number') },
      ],
    });
  });

  it('passes when the same characters only appear escaped', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things/a', payload: JSON.stringify({ name: '\\u0000 and 😀' }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
  });
});
