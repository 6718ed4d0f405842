import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { canonicalize } from '../core/config-hash.ts';
import { migrateSchema } from '../db/migrate.ts';
import { ApiError } from './errors.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[\x21-\x7e]{1,200}$/;
/** A remembered response is replayed for a day; after that the key may be used afresh. */
const RETENTION = '24 hours';
/** A claim whose request never finished (its instance died) may be taken over after this. */
const ABANDONED = '60 seconds';
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'preference-applied'];

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { owner: string; key: string };
  }
}

export const HTTP_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Creates or upgrades the shared `http` schema (idempotency keys). */
export function migrateHttpSchema(databaseUrl: string) {
  return migrateSchema(databaseUrl, { schema: 'http', dir: HTTP_MIGRATIONS_DIR });
}

/**
 * `Idempotency-Key` on POST: the first request with a key is executed and its response kept;
 * a replay with the same key and the same body gets that response again (with
 * `Idempotent-Replayed: true`) and changes nothing; the same key with another body is refused
 * with 422 IDEMPOTENCY_KEY_REUSED; while the first is still running, 409 IDEMPOTENCY_KEY_IN_USE.
 * Keys belong to the authenticated caller: two callers never see each other's responses.
 * 5xx answers are not kept, so a retry after an outage runs again.
 */
export function installIdempotency(app: FastifyInstance, opts: { pool: pg.Pool }): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    const raw = request.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!KEY.test(key)) {
      throw new ApiError('VALIDATION_FAILED', 'Idempotency-Key must be 1–200 visible ASCII characters, e.g. a UUID.', {
        extra: { errors: [{ in: 'headers', path: '/idempotency-key', message: 'must be 1–200 visible ASCII characters' }] },
      });
    }
    const owner = request.principal?.id;
    if (!owner) return; // unauthenticated routes (login) are not replayable
    const hash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${canonicalize(request.body ?? null)}`)
      .digest('hex');

    const claimed = await opts.pool.query(
      `INSERT INTO http.idempotency_keys (owner, key, request_hash, state) VALUES ($1, $2, $3, 'pending')
       ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'pending', status = NULL,
              headers = NULL, body = NULL, created_at = now()
        WHERE http.idempotency_keys.created_at < now() - $4::interval
           OR (http.idempotency_keys.state = 'pending' AND http.idempotency_keys.created_at < now() - $5::interval)
       RETURNING 1`,
      [owner, key, hash, RETENTION, ABANDONED],
    );
    if (claimed.rowCount) {
      request.idempotency = { owner, key };
      return;
    }
    const { rows } = await opts.pool.query<{ request_hash: string; state: string; status: number; headers: Record<string, string>; body: string | null }>(
      `SELECT request_hash, state, status, headers, body FROM http.idempotency_keys WHERE owner = $1 AND key = $2`,
      [owner, key],
    );
    const row = rows[0];
    if (!row) throw new ApiError('IDEMPOTENCY_KEY_IN_USE', 'The request with this Idempotency-Key is being settled; retry in a moment.', { headers: { 'Retry-After': '1' } });
    if (row.request_hash !== hash) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another request; use a new key for a new request.');
    }
    if (row.state === 'pending') {
      throw new ApiError('IDEMPOTENCY_KEY_IN_USE', 'The first request with this Idempotency-Key is still running; retry in a moment.', { headers: { 'Retry-After': '1' } });
    }
    return replay(reply, row);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = undefined;
    if (reply.statusCode >= 500 || (payload !== null && typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      await opts.pool.query(`DELETE FROM http.idempotency_keys WHERE owner = $1 AND key = $2 AND state = 'pending'`, [claim.owner, claim.key]);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const h of REPLAYED_HEADERS) {
      const v = reply.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    await opts.pool.query(
      `UPDATE http.idempotency_keys SET state = 'done', status = $3, headers = $4, body = $5 WHERE owner = $1 AND key = $2`,
      [claim.owner, claim.key, reply.statusCode, JSON.stringify(headers), payload === null ? null : String(payload)],
    );
    return payload;
  });
}

function replay(reply: FastifyReply, row: { status: number; headers: Record<string, string>; body: string | null }) {
  reply.code(row.status).headers(row.headers).header('idempotent-replayed', 'true');
  return reply.send(row.body ?? undefined);
}

export type { FastifyRequest };
