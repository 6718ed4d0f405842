import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.ts';
import { adminContext, auditAdmin } from './admin-audit.ts';
import { accountLocked, clearFailures, lockedFor, recordFailure, type LockoutPolicy } from './lockout.ts';
import { verifyPassword } from './passwords.ts';
import type { User } from './users-store.ts';

/**
 * Checks the current password a user sends to change their own. It is a password guess like a
 * login, so it shares the login's lockout (counted by the user's email): while the account is
 * locked the password is not tried (423 ACCOUNT_LOCKED with `Retry-After`), a wrong one counts as
 * a failed login (403) and a right one forgets earlier failures. Each refusal is audited on the
 * organisation's chain as a denied `update` of the user.
 *
 * Call it inside the update's transaction, with the user's row locked. The refusal is returned,
 * not thrown: the caller commits the transaction (so the failure count and the audit event are
 * kept) and then throws it.
 */
export async function checkCurrentPassword(
  client: pg.PoolClient,
  request: FastifyRequest,
  user: User,
  password: string | undefined,
  policy: LockoutPolicy,
): Promise<ApiError | undefined> {
  const deny = (comment: string) =>
    auditAdmin(client, adminContext(request), [{ orgId: user.orgId, entityType: 'user', entityId: user.id, action: 'update', outcome: 'denied', comment }]);
  const retry = await lockedFor(client, user.email);
  if (retry > 0) {
    await deny('password change: account locked');
    return accountLocked(retry);
  }
  // No password sent is no guess: refused without counting.
  if (password === undefined) return new ApiError('FORBIDDEN', 'To change your own password, send your current one as currentPassword.');
  if (!(await verifyPassword(user.passwordHash, password))) {
    await recordFailure(client, user.email, policy);
    await deny('password change: wrong current password');
    return new ApiError('FORBIDDEN', 'The current password is wrong. Failed attempts count towards the lockout of your account, as failed logins do.');
  }
  await clearFailures(client, user.email);
  return undefined;
}
