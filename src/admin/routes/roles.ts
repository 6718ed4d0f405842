import { authorize } from '../../auth/install-auth.ts';
import { withTransaction } from '../../db/tx.ts';
import type { HttpApp } from '../../http/app.ts';
import { assertVersion, parseIfMatch } from '../../http/etag.ts';
import { adminContext, auditAdmin } from '../admin-audit.ts';
import { callerOrg } from '../access.ts';
import type { AdminDeps } from '../context.ts';
import { publishAdminEvents } from '../events.ts';
import { IdParams, RolesPut, RolesView } from '../schemas.ts';
import { assertAdminRemains, loadUser, lockOrg, replaceRoles } from '../users-store.ts';
import { bindingView, userEtag, userView } from '../views.ts';
import { bindingsIn, visibleUser } from './users.ts';

/**
 * A user's role bindings, read and replaced as one set. They are part of the user's version:
 * the ETag is the user's, and a PUT bumps it. Site-scoped bindings name sites by id; the admin
 * service does not check them against the config service (a binding to a site that does not
 * exist grants nothing).
 */
export function roleRoutes(app: HttpApp, deps: AdminDeps) {
  const tags = ['admin'];

  app.get('/v1/users/:id/roles', { schema: { tags, summary: "A user's role bindings", params: IdParams, response: { 200: RolesView } } }, async (request, reply) => {
    const user = await visibleUser(request, deps, request.params.id);
    reply.header('ETag', userEtag(user));
    return { items: user.roles.map(bindingView) };
  });

  app.put(
    '/v1/users/:id/roles',
    { schema: { tags, summary: "Replace a user's role bindings (admins; If-Match: the user's ETag)", params: IdParams, body: RolesPut, response: { 200: RolesView } } },
    async (request, reply) => {
      const { id } = request.params;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'user', id });
      const orgId = callerOrg(request);
      const user = await withTransaction(deps.pool, async (client) => {
        await lockOrg(client, orgId);
        const before = await visibleUser(request, deps, id, { lock: true, client });
        authorize(request, 'admin.manage', { orgId }, `User ${id} does not exist.`);
        assertVersion(expected, before.version, userEtag(before));
        const roles = bindingsIn(orgId, request.body.items);
        if (JSON.stringify(roles) === JSON.stringify(before.roles)) return before;
        await replaceRoles(client, before, roles);
        await client.query(`UPDATE admin.users SET version = version + 1, updated_at = now() WHERE id = $1`, [id]);
        await assertAdminRemains(client, orgId);
        const after = (await loadUser(client, id))!;
        await auditAdmin(client, adminContext(request), [{ orgId, entityType: 'user', entityId: id, action: 'update-roles', before: userView(before), after: userView(after) }]);
        await publishAdminEvents(client, [{ topic: 'admin.user.roles-changed', payload: { userId: id, orgId, at: Date.now() } }]);
        return after;
      });
      deps.authenticator.forget();
      reply.header('ETag', userEtag(user));
      return { items: user.roles.map(bindingView) };
    },
  );
}
