import { createHash, randomUUID } from 'node:crypto';
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
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'preference-applied', 'cache-control'];

/** The `Idempotency-Key` a request claimed, for the write path to mark in its own transaction. */
export interface IdempotencyClaim {
  owner: string;
  key: string;
  /** This request's token on the key: a retry that takes the key over gets another. */
  claimId: string;
  /**
   * Set by the write path when its COMMIT's answer was lost and the outcome cannot be told: the
   * claim is then kept on the 5xx answer, so the write — if it committed — marks it, and a retry
   * does not run it again before the claim is abandoned.
   */
  outcomeUnknown?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: IdempotencyClaim;
  }
}

/**
 * A CTE that marks the claim `committed` with the change set its write made (or, with
 * `location`, the path of what it made), and the expression
 * (for the statement's final SELECT) that fails the statement unless it did — the key was
 * claimed again by a retry (SQLSTATE {@link CLAIM_TAKEN_OVER}); the parameters are placeholders
 * of the caller's statement. Run in the write's own statement: if the instance dies before the
 * answer is stored, a retry is told the change was applied (409 IDEMPOTENCY_KEY_COMMITTED)
 * instead of running it again.
 */
export const markCommittedSql = (p: { owner: string; key: string; claimId: string; changesetId: string; location?: string }) => ({
  cte: `idempotency AS (UPDATE http.idempotency_keys SET state = 'committed', changeset_id = ${p.changesetId}::uuid${p.location ? `, location = ${p.location}` : ''}
     WHERE owner = ${p.owner} AND key = ${p.key} AND claim_id = ${p.claimId}::uuid AND state = 'pending' RETURNING 1)`,
  check: `http.expect_claim((SELECT count(*) FROM idempotency))`,
});

/**
 * Marks `claim` (when the request made one) `committed` inside the caller's open transaction,
 * with `location`, the path of what the request made — for the POSTs whose work is not a change
 * set of the write path (a site, a deployment, a device, a user, a token). If the instance dies between
 * COMMIT and storing the answer, a retry is told the request was applied and where its result
 * is (409 IDEMPOTENCY_KEY_COMMITTED, `Content-Location`) instead of running it a second time.
 * Fails the transaction (SQLSTATE {@link CLAIM_TAKEN_OVER}) when a retry took the key over.
 *
 * @example
 * await withTransaction(pool, async (client) => {
 *   await client.query('INSERT INTO lifecycle.deployments …', [id, …]);
 *   await markClaimCommitted(client, ctx.idempotency, `/v1/deployments/${id}`);
 * });
 */
export async function markClaimCommitted(client: pg.ClientBase, claim: IdempotencyClaim | undefined, location: string): Promise<void> {
  if (!claim) return;
  const mark = markCommittedSql({ owner: '$1', key: '$2', claimId: '$3', changesetId: 'NULL', location: '$4' });
  await client.query(`WITH ${mark.cte} SELECT ${mark.check}`, [claim.owner, claim.key, claim.claimId, location]);
}

/** SQLSTATE of a write whose Idempotency-Key was claimed again by a retry (`http.expect_claim`). */
export const CLAIM_TAKEN_OVER = 'RMI01';

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
 * 5xx answers are not kept, so a retry after an outage runs again — unless the write had
 * committed (the write path marks the claim in its transaction, {@link markCommittedSql}): then a
 * retry after {@link ABANDONED} gets 409 IDEMPOTENCY_KEY_COMMITTED naming the change set.
 */
export function installIdempotency(app: FastifyInstance, opts: { pool: pg.Pool }): void {
  // Callback hooks with the work that waits in async functions: most requests carry no key and
  // pass without a promise of their own.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method !== 'POST' || request.headers[IDEMPOTENCY_HEADER] === undefined) return done();
    claimKey(request, reply).then(() => done(), done);
  });

  async function claimKey(request: FastifyRequest, reply: FastifyReply) {
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

    const claimId = randomUUID();
    const claimed = await opts.pool.query(
      `INSERT INTO http.idempotency_keys (owner, key, request_hash, state, claim_id) VALUES ($1, $2, $3, 'pending', $6)
       ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'pending', status = NULL,
              headers = NULL, body = NULL, changeset_id = NULL, location = NULL, claim_id = EXCLUDED.claim_id, created_at = now()
        WHERE http.idempotency_keys.created_at < now() - $4::interval
           OR (http.idempotency_keys.state = 'pending' AND http.idempotency_keys.created_at < now() - $5::interval)
       RETURNING 1`,
      [owner, key, hash, RETENTION, ABANDONED, claimId],
    );
    if (claimed.rowCount) {
      request.idempotency = { owner, key, claimId };
      return;
    }
    const { rows } = await opts.pool.query<{
      request_hash: string;
      state: string;
      status: number;
      headers: Record<string, string>;
      body: string | null;
      changeset_id: string | null;
      location: string | null;
      settling: boolean;
    }>(
      `SELECT request_hash, state, status, headers, body, changeset_id, location, created_at >= now() - $3::interval AS settling
         FROM http.idempotency_keys WHERE owner = $1 AND key = $2`,
      [owner, key, ABANDONED],
    );
    const row = rows[0];
    if (!row) throw new ApiError('IDEMPOTENCY_KEY_IN_USE', 'The request with this Idempotency-Key is being settled; retry in a moment.', { headers: { 'Retry-After': '1' } });
    if (row.request_hash !== hash) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another request; use a new key for a new request.');
    }
    if (row.state === 'pending' || (row.state === 'committed' && row.settling)) {
      throw new ApiError('IDEMPOTENCY_KEY_IN_USE', 'The first request with this Idempotency-Key is still running; retry in a moment.', { headers: { 'Retry-After': '1' } });
    }
    // The first request's change committed, and its instance stopped before answering.
    if (row.state === 'committed') throw alreadyApplied(row, 'was applied, but its answer was lost', 'It is not run again.');
    if (holdsSecret(row.status, row.headers)) {
      throw alreadyApplied(row, 'was applied and answered', 'Its answer held a secret shown only once, which is not kept, so it is not replayed; the request is not run again.');
    }
    return replay(reply, row);
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    const claim = request.idempotency;
    if (!claim) return done(null, payload);
    request.idempotency = undefined;
    settle(claim, reply, payload)
      .then((settled) => done(null, settled), done)
      // What fastify's own handling of an async hook catches: an error thrown while it sends.
      .catch((err: unknown) => reply.log.error({ err }, 'sending the answer failed'));
  });

  async function settle(claim: IdempotencyClaim, reply: FastifyReply, payload: unknown) {
    if (reply.statusCode >= 500 || (payload !== null && typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      // A write whose outcome could not be told keeps its claim: if it committed, it marked it.
      if (!claim.outcomeUnknown) {
        await opts.pool.query(`DELETE FROM http.idempotency_keys WHERE owner = $1 AND key = $2 AND claim_id = $3 AND state = 'pending'`, [claim.owner, claim.key, claim.claimId]);
      }
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const h of REPLAYED_HEADERS) {
      const v = reply.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    // An answer that must not be kept (Cache-Control: no-store: a password or a token's secret,
    // shown once) is not stored: a retry is told the request was applied, and where its result is.
    const body = payload === null || holdsSecret(reply.statusCode, headers) ? null : String(payload);
    await opts.pool.query(
      `UPDATE http.idempotency_keys SET state = 'done', status = $3, headers = $4, body = $5, location = $7 WHERE owner = $1 AND key = $2 AND claim_id = $6`,
      [claim.owner, claim.key, reply.statusCode, JSON.stringify(headers), body, claim.claimId, headers.location ?? null],
    );
    return payload;
  }
}

/**
 * A creation answered with `Cache-Control: no-store` (a user, a token, an organisation: the answer
 * may show a password or a secret once): its answer is neither kept nor replayed.
 */
const holdsSecret = (status: number, headers: Record<string, string>) => status === 201 && /\bno-store\b/i.test(headers['cache-control'] ?? '');

/** 409 IDEMPOTENCY_KEY_COMMITTED for the first request of `row`: where its result is — its change set, or the path it recorded — and `outcome`. */
function alreadyApplied(row: { changeset_id: string | null; location: string | null }, what: string, outcome: string): ApiError {
  const location = row.changeset_id ? `/v1/changesets/${row.changeset_id}` : row.location;
  const where = row.changeset_id ? `: change set ${row.changeset_id}, GET ${location} shows what it did` : location ? `: GET ${location} shows what it made` : '';
  return new ApiError('IDEMPOTENCY_KEY_COMMITTED', `The first request with this Idempotency-Key ${what}${where}. ${outcome}`, {
    extra: { changesetId: row.changeset_id, location },
    headers: location ? { 'Content-Location': location } : undefined,
  });
}

function replay(reply: FastifyReply, row: { status: number; headers: Record<string, string>; body: string | null }) {
  reply.code(row.status).headers(row.headers).header('idempotent-replayed', 'true');
  return reply.send(row.body ?? undefined);
}

export type { FastifyRequest };
