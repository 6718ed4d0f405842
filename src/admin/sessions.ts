import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { tokenHash } from '../auth/authenticator.ts';
import { withTransaction } from '../db/tx.ts';

/**
 * Refresh tokens: opaque, stored as sha256, valid for `ttlSeconds`, single use. Each refresh
 * revokes the presented token and issues a new one; presenting a token that was already used
 * revokes every session of its user (a copy is in someone else's hands).
 */
export async function createSession(client: pg.PoolClient | pg.Pool, userId: string, ttlSeconds: number): Promise<{ refreshToken: string; expiresIn: number }> {
  const refreshToken = `rema_rt_${randomBytes(32).toString('base64url')}`;
  await client.query(
    `INSERT INTO admin.sessions (id, user_id, secret_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
    [randomUUID(), userId, tokenHash(refreshToken), ttlSeconds],
  );
  return { refreshToken, expiresIn: ttlSeconds };
}

/**
 * Redeems a refresh token: the id of its (enabled) user and a new refresh token, or undefined
 * when the token is unknown, expired, already used or its user is disabled.
 */
export async function rotateSession(pool: pg.Pool, refreshToken: string, ttlSeconds: number): Promise<{ userId: string; refreshToken: string; expiresIn: number } | undefined> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; user_id: string; revoked: boolean; expired: boolean; usable: boolean }>(
      `SELECT s.id, s.user_id, s.revoked_at IS NOT NULL AS revoked, s.expires_at <= now() AS expired,
              (NOT u.disabled AND u.deleted_at IS NULL) AS usable
         FROM admin.sessions s JOIN admin.users u ON u.id = s.user_id
        WHERE s.secret_hash = $1 FOR UPDATE OF s`,
      [tokenHash(refreshToken)],
    );
    const s = rows[0];
    if (!s) return undefined;
    if (s.revoked) {
      await revokeSessions(client, s.user_id);
      return undefined;
    }
    if (s.expired || !s.usable) return undefined;
    await client.query(`UPDATE admin.sessions SET revoked_at = now() WHERE id = $1`, [s.id]);
    return { userId: s.user_id, ...(await createSession(client, s.user_id, ttlSeconds)) };
  });
}

/** Ends every session of a user (disable, delete, password change, reuse of a refresh token). */
export async function revokeSessions(client: pg.PoolClient, userId: string): Promise<void> {
  await client.query(`UPDATE admin.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
}
