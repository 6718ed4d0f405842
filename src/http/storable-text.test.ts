import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp, type HttpApp } from './app.ts';
import { unstorableText } from './storable-text.ts';

describe('unstorableText', () => {
  it('finds NUL and unpaired surrogates in strings and property names, as JSON Pointers', () => {
    expect(unstorableText({ name: 'a\u0000b', tags: ['ok', '\ud800', 'x\udfffy'], ['k/\u0000']: 1, deep: { er: [{ s: '\udc00' }] } })).toEqual([
      '/name',
      '/tags/1',
      '/tags/2',
      '/k~1\u0000',
      '/deep/er/0/s',
    ]);
  });

  it('accepts every other text: paired surrogates (emoji), other control characters, right-to-left marks', () => {
    expect(unstorableText({ a: '😀', b: '\u0007\u202e\ufeff', c: 'Ω田中', d: ['%00', '\\u0000'] })).toEqual([]);
  });

  it('stops at the limit', () => {
    expect(unstorableText(Array(50).fill('\u0000'), 3)).toEqual(['/0', '/1', '/2']);
  });
});

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

  it('passes when the same characters only appear escaped', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things/a', payload: JSON.stringify({ name: '\\u0000 and 😀' }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
  });
});
