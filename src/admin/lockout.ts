import type pg from 'pg';
import { ApiError } from '../http/errors.ts';

/** How many failed logins in a row lock an account, and for how long. */
export interface LockoutPolicy {
  /** Failures in a row (each within `lockSeconds` of the previous) that lock the account. Default 5. */
  maxFailures: number;
  /** How long the lock lasts. Default 900 (15 minutes). */
  lockSeconds: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockSeconds: 900 };

/**
 * Seconds until `account` (a normalised email, known or not) may try again; 0 when it is not
 * locked. Failure counters live in PostgreSQL, so every instance sees the same lock.
 */
export async function lockedFor(db: pg.Pool | pg.PoolClient, account: string): Promise<number> {
  const { rows } = await db.query<{ retry: number }>(
    `SELECT ceil(extract(epoch FROM locked_until - now()))::int AS retry FROM admin.login_failures WHERE account = $1 AND locked_until > now()`,
    [account],
  );
  return rows[0] ? Math.max(1, rows[0].retry) : 0;
}

/** 423 ACCOUNT_LOCKED with `Retry-After`: the answer to any password tried while the account is locked. */
export const accountLocked = (retrySeconds: number) =>
  new ApiError('ACCOUNT_LOCKED', `Too many failed logins: this account is locked for ${retrySeconds} more seconds.`, { headers: { 'retry-after': String(retrySeconds) } });

/**
 * Counts a failed login (or a wrong current password); the failure that reaches `maxFailures`
 * locks the account for `lockSeconds` and starts the count over. Returns true when this failure
 * locked it.
 */
export async function recordFailure(client: pg.PoolClient, account: string, policy: LockoutPolicy): Promise<boolean> {
  const { rows } = await client.query<{ failures: number }>(
    `INSERT INTO admin.login_failures AS f (account, failures, last_failure_at) VALUES ($1, 1, now())
     ON CONFLICT (account) DO UPDATE SET
       failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $2) THEN 1 ELSE f.failures + 1 END,
       last_failure_at = now()
     RETURNING failures`,
    [account, policy.lockSeconds],
  );
  if (rows[0].failures < policy.maxFailures) return false;
  await client.query(
    `UPDATE admin.login_failures SET failures = 0, locked_until = now() + make_interval(secs => $2) WHERE account = $1`,
    [account, policy.lockSeconds],
  );
  return true;
}

/** A successful login forgets earlier failures. */
export async function clearFailures(client: pg.PoolClient, account: string): Promise<void> {
  await client.query(`DELETE FROM admin.login_failures WHERE account = $1`, [account]);
}
