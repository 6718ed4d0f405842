import type pg from 'pg';
import type { RoleBinding } from '../auth/principal.ts';
import { normalizeBindings } from '../auth/role-bindings.ts';
import { ApiError } from '../http/errors.ts';
import { escapeLike } from '../db/escape-like.ts';
import { prepared } from '../db/pool.ts';
import { isUuid } from '../core/ids.ts';

type Db = pg.Pool | pg.PoolClient;

/** A user as stored, with their role bindings. */
export interface User {
  id: string;
  orgId: string;
  email: string;
  name: string;
  passwordHash: string | null;
  disabled: boolean;
  /** Epoch ms of the user's last disable or enable: their access JWTs issued at or before it are refused. */
  tokensValidAfter: number | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  roles: RoleBinding[];
}

const USER_COLUMNS = `
  u.id, u.org_id, u.email, u.name, u.password_hash, u.disabled, u.tokens_valid_after, u.version, u.created_at, u.updated_at,
  COALESCE((SELECT json_agg(json_build_object('orgId', b.org_id, 'siteId', b.site_id, 'role', b.role))
              FROM admin.role_bindings b WHERE b.user_id = u.id), '[]'::json) AS roles`;

interface UserRow {
  id: string;
  org_id: string;
  email: string;
  name: string;
  password_hash: string | null;
  disabled: boolean;
  tokens_valid_after: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  roles: RoleBinding[];
}

function userFromRow(r: UserRow): User {
  return {
    id: r.id,
    orgId: r.org_id,
    email: r.email,
    name: r.name,
    passwordHash: r.password_hash,
    disabled: r.disabled,
    tokensValidAfter: r.tokens_valid_after?.getTime() ?? null,
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    roles: normalizeBindings(r.roles),
  };
}

/** A user that is not deleted, or undefined. `lock` takes the row lock (inside a transaction). */
export async function loadUser(db: Db, id: string, opts: { lock?: boolean } = {}): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await db.query<UserRow>(prepared(`SELECT ${USER_COLUMNS} FROM admin.users u WHERE u.id = $1 AND u.deleted_at IS NULL${opts.lock ? ' FOR UPDATE OF u' : ''}`, [id]));
  return rows[0] && userFromRow(rows[0]);
}

/** The user who logs in with `email` (already normalised), or undefined. */
export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM admin.users u WHERE u.email = $1 AND u.deleted_at IS NULL`, [email]);
  return rows[0] && userFromRow(rows[0]);
}

/** Users of an organisation ordered by (email, id), after the cursor position. */
export async function listUsers(db: Db, orgId: string, after: { email: string; id: string } | null, limit: number, q?: string): Promise<User[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM admin.users u
      WHERE u.org_id = $1 AND u.deleted_at IS NULL
        AND ($2::text IS NULL OR (u.email, u.id) > ($2, $3::uuid))
        AND ($4::text IS NULL OR u.email ILIKE '%' || $4 || '%' OR u.name ILIKE '%' || $4 || '%')
      ORDER BY u.email, u.id LIMIT $5`,
    [orgId, after?.email ?? null, after?.id ?? null, q ? escapeLike(q) : null, limit],
  );
  return rows.map(userFromRow);
}

/** Replaces the role bindings of a user (all in the user's organisation). */
export async function replaceRoles(client: pg.PoolClient, user: { id: string; orgId: string }, roles: readonly RoleBinding[]): Promise<void> {
  await client.query(`DELETE FROM admin.role_bindings WHERE user_id = $1`, [user.id]);
  if (roles.length === 0) return;
  await client.query(
    `INSERT INTO admin.role_bindings (user_id, org_id, site_id, role)
     SELECT $1, $2, x.site_id, x.role FROM jsonb_to_recordset($3::jsonb) AS x(site_id uuid, role text)`,
    [user.id, user.orgId, JSON.stringify(roles.map((r) => ({ site_id: r.siteId, role: r.role })))],
  );
}

/**
 * Locks the organisation's row: admin writes within one organisation are serialised, so the
 * "one admin must remain" check cannot race. 404 when the organisation does not exist.
 */
export async function lockOrg(client: pg.PoolClient, orgId: string): Promise<void> {
  const { rowCount } = await client.query(`SELECT 1 FROM admin.orgs WHERE id = $1 FOR UPDATE`, [orgId]);
  if (rowCount === 0) throw new ApiError('NOT_FOUND', `Organisation ${orgId} does not exist.`);
}

/**
 * 409 LAST_ADMIN unless the organisation still has an enabled user with an org-wide admin
 * binding. Call after the change, inside its transaction, with the organisation locked.
 */
export async function assertAdminRemains(client: pg.PoolClient, orgId: string): Promise<void> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM admin.role_bindings b JOIN admin.users u ON u.id = b.user_id
      WHERE b.org_id = $1 AND b.role = 'admin' AND b.site_id IS NULL AND NOT u.disabled AND u.deleted_at IS NULL LIMIT 1`,
    [orgId],
  );
  if (rowCount === 0) {
    throw new ApiError('LAST_ADMIN', 'This change would leave the organisation without an enabled user holding an org-wide admin role; grant admin to someone else first.');
  }
}

/** Normalised login name: trimmed, lower-case. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** True for a UUID (ids that are not cannot name a stored row; no need to ask PostgreSQL). */
export { isUuid };

export interface NewUser {
  id: string;
  orgId: string;
  email: string;
  name: string;
  passwordHash: string | null;
  roles: RoleBinding[];
}

/** Inserts a user and their bindings; a taken email fails on `users_email_unique` (409). */
export async function insertUser(client: pg.PoolClient, u: NewUser): Promise<User> {
  await client.query(`INSERT INTO admin.users (id, org_id, email, name, password_hash) VALUES ($1, $2, $3, $4, $5)`, [u.id, u.orgId, u.email, u.name, u.passwordHash]);
  await replaceRoles(client, u, u.roles);
  const user = await loadUser(client, u.id);
  if (!user) throw new Error(`user ${u.id} vanished after insert`);
  return user;
}
