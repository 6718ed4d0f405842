import { Writable } from 'node:stream';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildHttpApp } from './app.ts';
import type { HttpApp } from './app.ts';
import { apiError } from './errors.ts';
import { problemResponses } from './problem.ts';
import { toApiError } from './error-handler.ts';

const Thing = Type.Object(
  {
    name: Type.String({ minLength: 2 }),
    unitId: Type.Integer({ minimum: 1, maximum: 247 }),
    parity: Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')]),
    note: Type.Union([Type.String(), Type.Null()]),
    serial: Type.Object({ baud: Type.Integer({ minimum: 1200 }) }),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/things',
    { schema: { body: Thing, querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean()) }), response: { 200: Thing, ...problemResponses(422) } } },
    async (request) => request.body,
  );
  app.post(
    '/batches',
    {
      schema: {
        body: Type.Object(
          {
            ops: Type.Array(
              Type.Union([
                Type.Object({ op: Type.Literal('rename'), name: Type.String() }, { additionalProperties: false }),
                Type.Object({ op: Type.Literal('delete'), id: Type.Integer() }, { additionalProperties: false }),
              ]),
              { minItems: 1, maxItems: 1000 },
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => request.body,
  );
  app.patch('/things/:id', { schema: { body: Type.Object({ name: Type.String() }) } }, async (request) => request.body);
  app.get('/boom', async () => {
    throw new Error('secret internals at /srv/rema/db.ts');
  });
  app.get('/db-refused', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  app.get('/db-terminated', async () => {
    throw new Error('Connection terminated unexpectedly');
  });
  app.get('/db-shutdown', async () => {
    throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  });
  app.get('/db-unique', async () => {
    throw Object.assign(new Error('duplicate key value violates unique constraint "assets_site_name_key"'), {
      code: '23505',
      constraint: 'assets_site_name_key',
      detail: 'Key (site_id, name)=(s1, GW-1) already exists.',
    });
  });
  app.get('/db-value', async () => {
    throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
  });
  app.get('/rules', async () => {
    throw apiError('CONFLICT_RULES', 'The change breaks 1 rule.', {
      violations: [{ rule: 'bus-unit-id-unique', code: 'UNIT_ID_TAKEN', message: 'Unit id 5 is taken', assetIds: ['a', 'b'], severity: 'error' }],
    });
  });
  app.get('/limited', { config: { rateLimit: { max: 1, timeWindow: '1 minute' } } }, async () => ({ ok: true }));
};

const logLines: string[] = [];
let app: HttpApp;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  app = await buildHttpApp({ logger: { level: 'error', stream } });
  await app.register(routes, { prefix: '/v1' });
  await app.ready();
});
afterAll(() => app.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json: () => Record<string, unknown> }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: `https://rema.dev/problems/${code.toLowerCase().replaceAll('_', '-')}` });
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('schema validation', () => {
  it('lists every failing field of the body as a JSON Pointer, not just the first', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      payload: { name: 'x', unitId: '5', parity: 'mark', note: 3, serial: { baud: 300 }, typo: true },
    });
    const body = expectProblem(res, 422, 'VALIDATION_FAILED');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { in: 'body', path: '/name', message: expect.stringContaining('2 characters') },
        { in: 'body', path: '/unitId', message: 'must be integer' },
        { in: 'body', path: '/parity', message: 'must be one of ["none","even","odd"]' },
        { in: 'body', path: '/note', message: 'must be string or null' },
        { in: 'body', path: '/serial/baud', message: 'must be >= 1200' },
        { in: 'body', path: '/typo', message: 'is not a known property' },
      ]),
    );
    expect(body.errors).toHaveLength(6);
  });

  it('reports missing required fields at their own path', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload: { serial: {} } });
    const body = expectProblem(res, 422, 'VALIDATION_FAILED');
    const paths = (body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    expect(paths).toEqual(['/name', '/note', '/parity', '/serial/baud', '/unitId']);
  });

  it('coerces and checks query parameters, naming the query string as the place', async () => {
    const payload = { name: 'GW', unitId: 5, parity: 'none', note: null, serial: { baud: 9600 } };
    const ok = await app.inject({ method: 'POST', url: '/v1/things?dryRun=true', payload });
    expect(ok.statusCode).toBe(200);
    const bad = await app.inject({ method: 'POST', url: '/v1/things?dryRun=perhaps', payload });
    const body = expectProblem(bad, 422, 'VALIDATION_FAILED');
    expect(body.errors).toEqual([{ in: 'querystring', path: '/dryRun', message: 'must be boolean' }]);
  });
});

describe('request bodies', () => {
  it('names the failing union of each array item with that item\'s own branches', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/batches', payload: { ops: [5, { op: 'move' }] } });
    const body = expectProblem(res, 422, 'VALIDATION_FAILED');
    expect(body.errors).toEqual([
      { in: 'body', path: '/ops/0', message: 'must be object' },
      { in: 'body', path: '/ops/1', message: 'must match a schema in anyOf' },
    ]);
  });

  it('answers 20,000 items of a 1,000-item array with 422 naming the array, before checking any item', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/batches', payload: { ops: Array.from({ length: 20_000 }, (_, i) => i) } });
    const body = expectProblem(res, 422, 'VALIDATION_FAILED');
    expect(body.errors).toEqual([{ in: 'body', path: '/ops', message: 'must NOT have more than 1000 items' }]);
    expect(body.detail).toBe('1 field of the body failed validation.');
  });

  it('lists every wrong item of an array within its limit, each item\'s union with its own branches', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/batches', payload: { ops: Array.from({ length: 1000 }, (_, i) => (i % 2 ? i : { op: 'move' })) } });
    const body = expectProblem(res, 422, 'VALIDATION_FAILED');
    expect(body.errors).toHaveLength(200);
    expect((body.errors as Array<{ path: string; message: string }>).slice(0, 2)).toEqual([
      { in: 'body', path: '/ops/0', message: 'must match a schema in anyOf' },
      { in: 'body', path: '/ops/1', message: 'must be object' },
    ]);
    expect(body.detail).toBe('1000 fields of the body failed validation (the first 200 are listed).');
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload: '{"name": ', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'INVALID_JSON');
  });

  it('refuses prototype-poisoning keys as invalid JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload: '{"__proto__": {"admin": true}}', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'INVALID_JSON');
  });

  it('refuses a hostile deeply nested body with a 4xx, not a crash', async () => {
    const depth = 200_000;
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload: '['.repeat(depth) + ']'.repeat(depth), headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'JSON_TOO_DEEP');
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });

  it('answers a body over the limit with 413', async () => {
    const payload = JSON.stringify({ name: 'x'.repeat(1_100_000) });
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload, headers: { 'content-type': 'application/json' } });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/things', payload: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a JSON Patch, and a charset other than UTF-8, with 415 saying what to send', async () => {
    const patch = await app.inject({ method: 'PATCH', url: '/v1/things/1', payload: '[{"op":"replace","path":"/name","value":"x"}]', headers: { 'content-type': 'application/json-patch+json' } });
    expectProblem(patch, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(patch.json().detail).toContain('application/merge-patch+json');
    for (const charset of ['utf-16', 'latin1', '"iso-8859-1"']) {
      const res = await app.inject({ method: 'POST', url: '/v1/things', payload: '{"name":"x"}', headers: { 'content-type': `application/json; charset=${charset}` } });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(res.json().detail).toContain(`charset=${charset.replaceAll('"', '')}`);
    }
    const utf8 = await app.inject({ method: 'POST', url: '/v1/things', payload: '{"name":"x"}', headers: { 'content-type': 'application/json; charset=UTF8' } });
    expect(utf8.statusCode).not.toBe(415);
  });

  it('accepts JSON Merge Patch bodies', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/things/1',
      payload: JSON.stringify({ name: 'GW-2' }),
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'GW-2' });
  });
});

describe('routing', () => {
  it('answers an unknown path with 404 problem+json', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    const body = expectProblem(res, 404, 'NOT_FOUND');
    expect(body.instance).toBe('/v1/nothing-here?x=1');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/v1/things' });
    expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('POST');
    const get = await app.inject({ method: 'PUT', url: '/v1/boom' });
    expect(get.headers.allow).toBe('GET, HEAD');
  });
});

describe('thrown errors', () => {
  it('renders an unknown error as 500 INTERNAL without leaking its message or stack, and logs the stack', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/boom' });
    expectProblem(res, 500, 'INTERNAL');
    expect(res.body).not.toContain('secret internals');
    expect(res.body).not.toContain('error-handler.test.ts');
    const logged = logLines.find((line) => line.includes('secret internals'));
    expect(logged).toBeDefined();
    expect(JSON.parse(logged as string).err.stack).toContain('error-handler.test.ts');
  });

  it.each(['/v1/db-refused', '/v1/db-terminated', '/v1/db-shutdown'])(
    'answers an unreachable database (%s) with 503 and Retry-After',
    async (url) => {
      const res = await app.inject({ method: 'GET', url });
      expectProblem(res, 503, 'SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('2');
      expect(res.body).not.toContain('5432');
    },
  );

  it('answers a constraint violation with 409 CONFLICT_CONSTRAINT naming the constraint', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/db-unique' });
    const body = expectProblem(res, 409, 'CONFLICT_CONSTRAINT');
    expect(body.constraint).toBe('assets_site_name_key');
  });

  it('answers a value the database refuses (SQLSTATE class 22) with 400 BAD_REQUEST, not 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/db-value' });
    const body = expectProblem(res, 400, 'BAD_REQUEST');
    expect(body.detail).toContain('22021');
    expect(body.detail).not.toContain('UTF8');
  });

  it('renders an ApiError with its extension members', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/rules' });
    const body = expectProblem(res, 409, 'CONFLICT_RULES');
    expect(body).toMatchObject({ detail: 'The change breaks 1 rule.', instance: '/v1/rules' });
    expect(body.violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: ['a', 'b'] })]);
  });

  it('answers an exceeded rate limit with 429 RATE_LIMITED and Retry-After', async () => {
    const first = await app.inject({ method: 'GET', url: '/v1/limited' });
    expect(first.statusCode).toBe(200);
    const second = await app.inject({ method: 'GET', url: '/v1/limited' });
    expectProblem(second, 429, 'RATE_LIMITED');
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('maps a plugin error that only has a 4xx status onto the registry code of that status', () => {
    expect(toApiError(Object.assign(new Error('nope'), { statusCode: 401 })).code).toBe('UNAUTHENTICATED');
    expect(toApiError(Object.assign(new Error('odd'), { statusCode: 418 })).code).toBe('BAD_REQUEST');
    expect(toApiError(Object.assign(new Error('clash'), { statusCode: 409 })).code).toBe('BAD_REQUEST');
  });
});

describe('toApiError', () => {
  it('lists at most 200 field errors, saying how many failed', () => {
    const validation = Array.from({ length: 500 }, (_, i) => ({
      keyword: 'type',
      instancePath: `/rows/${i}`,
      schemaPath: '#/properties/rows/items/type',
      params: { type: 'object' },
      message: 'must be object',
    }));
    const error = toApiError(Object.assign(new Error('invalid'), { validation, validationContext: 'body' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.extra.errors).toHaveLength(200);
    expect(error.detail).toBe('500 fields of the body failed validation (the first 200 are listed).');
  });
});
