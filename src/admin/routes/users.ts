import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize, principalOf } from '../../auth/install-auth.ts';
import type { RoleBinding } from '../../auth/principal.ts';
import { normalizeBindings } from '../../auth/role-bindings.ts';
import { withTransaction } from '../../db/tx.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted } from '../../http/idempotency.ts';
import { assertVersion, parseIfMatch } from '../../http/etag.ts';
import { decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { adminContext, auditAdmin } from '../admin-audit.ts';
import { actingUserId, callerOrg, managesOrg } from '../access.ts';
import type { AdminDeps } from '../context.ts';
import { publishAdminEvents, type AdminEvent } from '../events.ts';
import { checkCurrentPassword } from '../current-password.ts';
import { generatePassword, hashPassword } from '../passwords.ts';
import { CursorText, IdParams, UserCreate, UserCreated, UserPatch, UserView, Uuid } from '../schemas.ts';
import { revokeSessions } from '../sessions.ts';
import { assertAdminRemains, insertUser, listUsers, loadUser, lockOrg, normalizeEmail, type User } from '../users-store.ts';
import { userEtag, userView } from '../views.ts';

const UserCursor = Type.Object({ email: CursorText, id: Uuid });

/** Role bindings asked for in the body, placed in `orgId`. */
export const bindingsIn = (orgId: string, items: ReadonlyArray<{ role: RoleBinding['role']; siteId?: string | null }>): RoleBinding[] =>
  normalizeBindings(items.map((i) => ({ orgId, siteId: i.siteId ?? null, role: i.role })));

export const userNotFound = (id: string) => new ApiError('NOT_FOUND', `User ${id} does not exist.`);

/**
 * A user of the caller's organisation the caller may see: themselves, or anyone when they
 * administer the organisation. Another organisation's user answers like a missing one.
 */
export async function visibleUser(request: FastifyRequest, deps: AdminDeps, id: string, opts: { lock?: boolean; client?: pg.PoolClient } = {}): Promise<User> {
  const orgId = callerOrg(request);
  const user = await loadUser(opts.client ?? deps.pool, id, { lock: opts.lock });
  if (!user || user.orgId !== orgId) throw userNotFound(id);
  if (actingUserId(principalOf(request)) !== id) authorize(request, 'admin.manage', { orgId }, `User ${id} does not exist.`);
  return user;
}

/** Users of the caller's organisation: create, read, update (disable), delete. */
export function userRoutes(app: HttpApp, deps: AdminDeps) {
  const tags = ['admin'];

  app.get(
    '/v1/users',
    {
      schema: {
        tags,
        summary: "Users of your organisation (admins)",
        querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: 120, description: 'Part of the email or name' })), ...pageQueryProperties }),
        response: { 200: Page(UserView) },
      },
    },
    async (request) => {
      const orgId = callerOrg(request);
      authorize(request, 'admin.manage', { orgId });
      const { q, limit, cursor } = request.query;
      const rows = await listUsers(deps.pool, orgId, cursor ? decodeCursor(cursor, UserCursor) : null, limit + 1, q);
      const page = toPage(rows, limit, (u) => ({ email: u.email, id: u.id }));
      return { items: page.items.map(userView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/users',
    { schema: { tags, summary: 'Create a user in your organisation (admins); without a password one is generated and shown once', body: UserCreate, response: { 201: UserCreated } } },
    async (request, reply) => {
      const orgId = callerOrg(request);
      authorize(request, 'admin.manage', { orgId });
      const body = request.body;
      const initialPassword = body.password ? undefined : generatePassword();
      const passwordHash = await hashPassword(body.password ?? initialPassword!);
      const user = await withTransaction(deps.pool, async (client) => {
        await lockOrg(client, orgId);
        const created = await insertUser(client, {
          id: randomUUID(),
          orgId,
          email: normalizeEmail(body.email),
          name: body.name.trim(),
          passwordHash,
          roles: bindingsIn(orgId, body.roles ?? []),
        });
        await auditAdmin(client, adminContext(request), [{ orgId, entityType: 'user', entityId: created.id, action: 'create', after: userView(created) }]);
        await publishAdminEvents(client, [{ topic: 'admin.user.created', payload: { userId: created.id, orgId, at: Date.now() } }]);
        await markClaimCommitted(client, request.idempotency, `/v1/users/${created.id}`);
        return created;
      });
      reply.header('ETag', userEtag(user)).header('Location', `/v1/users/${user.id}`).header('cache-control', 'no-store').code(201);
      return { ...userView(user), ...(initialPassword ? { initialPassword } : {}) };
    },
  );

  app.get('/v1/users/:id', { schema: { tags, summary: 'A user (yourself, or anyone of your organisation for admins)', params: IdParams, response: { 200: UserView } } }, async (request, reply) => {
    const user = await visibleUser(request, deps, request.params.id);
    reply.header('ETag', userEtag(user));
    return userView(user);
  });

  app.patch(
    '/v1/users/:id',
    {
      schema: {
        tags,
        summary: 'Update a user (JSON Merge Patch; If-Match required). Admins may disable; your own password change needs currentPassword',
        params: IdParams,
        body: UserPatch,
        response: { 200: UserView },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const body = request.body;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'user', id });
      const orgId = callerOrg(request);
      const principal = principalOf(request);
      const self = actingUserId(principal) === id;
      const admin = managesOrg(principal, orgId);
      const newHash = body.password === undefined ? undefined : await hashPassword(body.password);
      const result = await withTransaction(deps.pool, async (client): Promise<{ user: User } | { refused: ApiError }> => {
        await lockOrg(client, orgId);
        const before = await visibleUser(request, deps, id, { lock: true, client });
        if (!admin && (body.email !== undefined || body.disabled !== undefined)) {
          throw new ApiError('FORBIDDEN', 'Permission admin.manage is missing: only admins change emails or disable users.', { extra: { permission: 'admin.manage' } });
        }
        assertVersion(expected, before.version, userEtag(before));
        if (newHash !== undefined && self) {
          const refused = await checkCurrentPassword(client, request, before, body.currentPassword, deps.settings.lockout);
          // Committed, then thrown: the failure counts towards the lockout and stays audited.
          if (refused) return { refused };
        }
        const email = body.email === undefined ? before.email : normalizeEmail(body.email);
        const name = body.name === undefined ? before.name : body.name.trim();
        const disabled = body.disabled ?? before.disabled;
        const changed = email !== before.email || name !== before.name || disabled !== before.disabled || newHash !== undefined;
        if (!changed) return { user: before };
        // Disabling or enabling moves the user's JWT cut-off to now (the `at` of its event, which
        // services run apart apply alike): a JWT from before a disable is not revived by the
        // enable, nor one a login racing with the disable issued after it.
        const at = Date.now();
        const cutOff = disabled !== before.disabled ? new Date(at) : null;
        await client.query(
          `UPDATE admin.users SET email = $2, name = $3, disabled = $4, password_hash = COALESCE($5, password_hash),
                  tokens_valid_after = COALESCE($6, tokens_valid_after), version = version + 1, updated_at = now() WHERE id = $1`,
          [id, email, name, disabled, newHash ?? null, cutOff],
        );
        const after = (await loadUser(client, id))!;
        if (disabled && !before.disabled) await assertAdminRemains(client, orgId);
        // A disabled user or a new password ends every refresh session; access JWTs stop at the next request.
        if (disabled !== before.disabled || newHash !== undefined) await revokeSessions(client, id);
        const action = disabled !== before.disabled ? (disabled ? 'disable' : 'enable') : 'update';
        await auditAdmin(client, adminContext(request), [
          { orgId, entityType: 'user', entityId: id, action, before: userView(before), after: userView(after), comment: newHash ? 'password changed' : null },
        ]);
        const events: AdminEvent[] = [];
        if (disabled && !before.disabled) events.push({ topic: 'admin.user.disabled', payload: { userId: id, orgId, at } });
        if (!disabled && before.disabled) events.push({ topic: 'admin.user.enabled', payload: { userId: id, orgId, at } });
        await publishAdminEvents(client, events);
        return { user: after };
      });
      if ('refused' in result) throw result.refused;
      deps.authenticator.forget(); // committed: this instance reads the user afresh before answering
      reply.header('ETag', userEtag(result.user));
      return userView(result.user);
    },
  );

  app.delete('/v1/users/:id', { schema: { tags, summary: 'Delete a user and revoke their tokens (admins; If-Match required)', params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    const expected = parseIfMatch(request.headers['if-match'], { kind: 'user', id });
    const orgId = callerOrg(request);
    await withTransaction(deps.pool, async (client) => {
      await lockOrg(client, orgId);
      const before = await visibleUser(request, deps, id, { lock: true, client });
      authorize(request, 'admin.manage', { orgId }, `User ${id} does not exist.`);
      assertVersion(expected, before.version, userEtag(before));
      await client.query(`UPDATE admin.users SET deleted_at = now(), disabled = true, version = version + 1, updated_at = now() WHERE id = $1`, [id]);
      await client.query(`DELETE FROM admin.role_bindings WHERE user_id = $1`, [id]);
      const revoked = await client.query<{ id: string }>(
        `UPDATE admin.api_tokens SET revoked_at = now(), version = version + 1 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
        [id],
      );
      await revokeSessions(client, id);
      await assertAdminRemains(client, orgId);
      await auditAdmin(client, adminContext(request), [
        { orgId, entityType: 'user', entityId: id, action: 'delete', before: userView(before), after: null },
        ...revoked.rows.map((t) => ({ orgId, entityType: 'api_token' as const, entityId: t.id, action: 'revoke', comment: 'its user was deleted' })),
      ]);
      const at = Date.now();
      await publishAdminEvents(client, [
        { topic: 'admin.user.deleted', payload: { userId: id, orgId, at } },
        ...revoked.rows.map((t) => ({ topic: 'admin.token.revoked' as const, payload: { tokenId: t.id, userId: id, orgId, at } })),
      ]);
    });
    deps.authenticator.forget();
    reply.code(204);
  });
}
