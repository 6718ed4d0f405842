import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { tokenHash } from '../auth/authenticator.ts';
import type { RoleBinding } from '../auth/principal.ts';
import { normalizeBindings } from '../auth/role-bindings.ts';
import { withTransaction } from '../db/tx.ts';
import { auditAdmin, type AdminContext } from './admin-audit.ts';

type Db = pg.Pool | pg.PoolClient;

/** An API token as listed: everything but its secret, which only its creator ever sees, once. */
export interface ApiToken {
  id: string;
  orgId: string;
  userId: string;
  name: string;
  /** The first characters of the secret, to tell tokens apart. */
  prefix: string;
  roles: RoleBinding[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  version: number;
}

interface TokenRow {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  prefix: string;
  bindings: RoleBinding[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  version: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function tokenFromRow(r: TokenRow): ApiToken {
  return {
    id: r.id,
    orgId: r.org_id,
    userId: r.user_id,
    name: r.name,
    prefix: r.prefix,
    roles: normalizeBindings(r.bindings),
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
    createdAt: r.created_at.toISOString(),
    version: r.version,
  };
}

const TOKEN_COLUMNS = 'id, org_id, user_id, name, prefix, bindings, expires_at, revoked_at, last_used_at, created_at, version';

/** `rema_` and 256 random bits: sha256 of it is a safe stored form (nothing to brute-force). */
export function generateApiTokenSecret(): string {
  return `rema_${randomBytes(32).toString('base64url')}`;
}

/**
 * The id of the token whose secret is `secret`: `token:` and 12 hex digits of its sha256. It
 * reveals nothing usable about a 256-bit secret, and it is the actor id the audit log records.
 *
 * @example
 * apiTokenId('test-operator-token'); // 'token:' + sha256('test-operator-token').hex.slice(0, 12)
 */
export function apiTokenId(secret: string): string {
  return `token:${tokenHash(secret).toString('hex').slice(0, 12)}`;
}

export const API_TOKEN_ID = /^token:[0-9a-f]{12}$/;

/** The displayed prefix: at most 12 characters and never more than a quarter of the secret. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, Math.min(12, Math.floor(secret.length / 4)));
}

export interface NewApiToken {
  orgId: string;
  userId: string;
  name: string;
  secret: string;
  roles: RoleBinding[];
  expiresAt: Date | null;
}

/**
 * Inserts a token; undefined when its secret or its id is taken already (the id is 48 bits of
 * the secret's hash: a fresh secret collides once in many millions of tokens, and the caller
 * draws another).
 */
export async function insertApiToken(client: pg.PoolClient, t: NewApiToken): Promise<ApiToken | undefined> {
  const { rows } = await client.query<TokenRow>(
    `INSERT INTO admin.api_tokens (id, org_id, user_id, name, secret_hash, prefix, bindings, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT DO NOTHING
     RETURNING ${TOKEN_COLUMNS}`,
    [apiTokenId(t.secret), t.orgId, t.userId, t.name, tokenHash(t.secret), secretPrefix(t.secret), JSON.stringify(normalizeBindings(t.roles)), t.expiresAt],
  );
  return rows[0] && tokenFromRow(rows[0]);
}

export async function loadApiToken(db: Db, id: string, opts: { lock?: boolean } = {}): Promise<ApiToken | undefined> {
  if (!API_TOKEN_ID.test(id)) return undefined;
  const { rows } = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM admin.api_tokens WHERE id = $1${opts.lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && tokenFromRow(rows[0]);
}

/**
 * A page of an organisation's tokens (or one user's), oldest first, after the position `after`.
 * Each comes with `cursorAt`, its creation time to the microsecond as stored: a millisecond
 * `createdAt` as the position would find the last token of a page again on the next.
 */
export async function listApiTokens(
  db: Db,
  filter: { orgId: string; userId: string | null },
  after: { createdAt: string; id: string } | null,
  limit: number,
): Promise<Array<ApiToken & { cursorAt: string }>> {
  const { rows } = await db.query<TokenRow & { cursor_at: string }>(
    `SELECT ${TOKEN_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM admin.api_tokens
      WHERE org_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
        AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::text))
      ORDER BY created_at, id LIMIT $5`,
    [filter.orgId, filter.userId, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows.map((r) => ({ ...tokenFromRow(r), cursorAt: r.cursor_at }));
}

/**
 * Makes sure `secret` is an API token (idempotent: an existing token with that secret is kept
 * as it is — a revoked one stays revoked). Used for the operator token of `rema serve` and
 * the `bootstrapToken` of tests.
 */
export async function ensureApiToken(pool: pg.Pool, t: NewApiToken, ctx: AdminContext): Promise<'created' | 'exists' | 'revoked'> {
  return withTransaction(pool, async (client) => {
    const created = await insertApiToken(client, t);
    if (created) {
      await auditAdmin(client, ctx, [{ orgId: t.orgId, entityType: 'api_token', entityId: created.id, action: 'create', after: created }]);
      return 'created';
    }
    const { rows } = await client.query<{ revoked: boolean }>(`SELECT revoked_at IS NOT NULL AS revoked FROM admin.api_tokens WHERE secret_hash = $1`, [tokenHash(t.secret)]);
    if (!rows[0]) throw new Error(`the id ${apiTokenId(t.secret)} of this token secret is taken by another token; choose another secret`);
    return rows[0].revoked ? 'revoked' : 'exists';
  });
}
