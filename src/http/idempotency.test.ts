import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import type { Principal } from '../auth/principal.ts';
import { canonicalize } from '../core/config-hash.ts';
import { buildHttpApp, type HttpApp } from './app.ts';
import { ApiError } from './errors.ts';
import { installIdempotency, migrateHttpSchema } from './idempotency.ts';

let db: TestDatabase;
let app: HttpApp;
let created = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrateHttpSchema(db.url);
  app = await buildHttpApp();
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    const who = request.headers['x-test-user'];
    if (typeof who === 'string') request.principal = { kind: 'user', id: who, name: who, orgId: null, bindings: [] };
  });
  installIdempotency(app, { pool: db.pool });
  app.post('/v1/things', { schema: { body: Type.Object({ name: Type.String() }) } }, async (request, reply) => {
    if (request.body.name === 'explode') throw new Error('boom');
    if (request.body.name === 'undecided') {
      // As the write path does when a COMMIT's answer was lost and the outcome cannot be told.
      if (request.idempotency) request.idempotency.outcomeUnknown = true;
      throw new ApiError('SERVICE_UNAVAILABLE', 'cannot tell yet');
    }
    created++;
    reply.code(201).header('etag', `"thing-${created}-v1"`).header('location', `/v1/things/${created}`);
    return { id: created, name: request.body.name };
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await db.drop();
});

const post = (body: object, key: string | undefined, user = 'alice') =>
  app.inject({ method: 'POST', url: '/v1/things', payload: body, headers: { 'x-test-user': user, ...(key ? { 'idempotency-key': key } : {}) } });

describe('Idempotency-Key', () => {
  it('replays the first response to a retry and does the work once', async () => {
    const before = created;
    const first = await post({ name: 'a' }, 'key-1');
    const again = await post({ name: 'a' }, 'key-1');
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(created).toBe(before + 1);
  });

  it('refuses the same key with another body with 422 and does nothing', async () => {
    await post({ name: 'b' }, 'key-2');
    const before = created;
    const reused = await post({ name: 'other' }, 'key-2');
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(created).toBe(before);
  });

  it('keeps the keys of two callers apart', async () => {
    const a = await post({ name: 'c' }, 'shared-key', 'alice');
    const b = await post({ name: 'c' }, 'shared-key', 'bob');
    expect(b.statusCode).toBe(201);
    expect(b.json().id).not.toBe(a.json().id);
  });

  it('does not keep a 5xx answer, so a retry runs again', async () => {
    const failed = await post({ name: 'explode' }, 'key-3');
    expect(failed.statusCode).toBe(500);
    const { rows } = await db.pool.query(`SELECT 1 FROM http.idempotency_keys WHERE key = 'key-3'`);
    expect(rows).toHaveLength(0);
  });

  it('keeps the claim of a 5xx whose write may have committed, so a retry does not run it again yet', async () => {
    const undecided = await post({ name: 'undecided' }, 'key-6');
    expect(undecided.statusCode).toBe(503);
    const { rows } = await db.pool.query(`SELECT state FROM http.idempotency_keys WHERE key = 'key-6'`);
    expect(rows).toEqual([{ state: 'pending' }]);
    const retry = await post({ name: 'undecided' }, 'key-6');
    expect([retry.statusCode, retry.json().code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_USE']);
  });

  it('answers 409 while the first request with the key is still pending', async () => {
    const hash = createHash('sha256').update(`POST /v1/things\n${canonicalize({ name: 'd' })}`).digest('hex');
    await db.pool.query(`INSERT INTO http.idempotency_keys (owner, key, request_hash, state) VALUES ('alice', 'key-4', $1, 'pending')`, [hash]);
    const busy = await post({ name: 'd' }, 'key-4');
    expect(busy.statusCode).toBe(409);
    expect(busy.json().code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(busy.headers['retry-after']).toBe('1');
  });

  it('refuses a malformed key with 422 naming the header', async () => {
    const bad = await post({ name: 'e' }, 'x'.repeat(201));
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors[0].path).toBe('/idempotency-key');
  });

  it('runs requests without a key as usual', async () => {
    const before = created;
    await post({ name: 'f' }, undefined);
    await post({ name: 'f' }, undefined);
    expect(created).toBe(before + 2);
  });
});
