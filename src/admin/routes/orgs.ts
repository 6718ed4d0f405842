import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { principalOf } from '../../auth/install-auth.ts';
import { withTransaction } from '../../db/tx.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted } from '../../http/idempotency.ts';
import { assertVersion, parseIfMatch } from '../../http/etag.ts';
import { decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { adminContext, auditAdmin } from '../admin-audit.ts';
import { isPlatformAdmin, managesOrg } from '../access.ts';
import type { AdminDeps } from '../context.ts';
import { publishAdminEvents } from '../events.ts';
import { generatePassword, hashPassword } from '../passwords.ts';
import { CursorText, IdParams, OrgCreate, OrgPatch, OrgView, UserCreated, Uuid } from '../schemas.ts';
import { insertUser, normalizeEmail } from '../users-store.ts';
import { orgEtag, orgFromRow, orgView, userView, type OrgRow } from '../views.ts';

const OrgCursor = Type.Object({ name: CursorText, id: Uuid });
const ORG_COLUMNS = 'id, name, platform, version, created_at, updated_at';

/**
 * Organisations (tenants). Everyone sees their own; admins of the platform organisation (the
 * one the bootstrap made) see and create all of them — but not their users, tokens or sites.
 */
export function orgRoutes(app: HttpApp, deps: AdminDeps) {
  const tags = ['admin'];
  const notFound = (id: string) => new ApiError('NOT_FOUND', `Organisation ${id} does not exist.`);

  async function visibleOrg(principal: ReturnType<typeof principalOf>, id: string) {
    const { rows } = await deps.pool.query<OrgRow>(`SELECT ${ORG_COLUMNS} FROM admin.orgs WHERE id = $1`, [id]);
    if (!rows[0] || (principal.orgId !== id && !isPlatformAdmin(principal))) throw notFound(id);
    return orgFromRow(rows[0]);
  }

  app.get(
    '/v1/orgs',
    { schema: { tags, summary: 'Organisations you can see: your own (all of them for platform admins)', querystring: Type.Object({ ...pageQueryProperties }), response: { 200: Page(OrgView) } } },
    async (request) => {
      const principal = principalOf(request);
      const { limit, cursor } = request.query;
      const after = cursor ? decodeCursor(cursor, OrgCursor) : null;
      const { rows } = await deps.pool.query<OrgRow>(
        `SELECT ${ORG_COLUMNS} FROM admin.orgs
          WHERE ($1::boolean OR id = $2::uuid) AND ($3::text IS NULL OR (name, id) > ($3, $4::uuid))
          ORDER BY name, id LIMIT $5`,
        [isPlatformAdmin(principal), principal.orgId, after?.name ?? null, after?.id ?? null, limit + 1],
      );
      const page = toPage(rows.map(orgFromRow), limit, (o) => ({ name: o.name, id: o.id }));
      return { items: page.items.map(orgView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/orgs/:id', { schema: { tags, summary: 'An organisation', params: IdParams, response: { 200: OrgView } } }, async (request, reply) => {
    const org = await visibleOrg(principalOf(request), request.params.id);
    reply.header('ETag', orgEtag(org));
    return orgView(org);
  });

  app.post(
    '/v1/orgs',
    {
      schema: {
        tags,
        summary: 'Create an organisation, optionally with its first admin (platform admins only)',
        body: OrgCreate,
        response: { 201: Type.Object({ ...OrgView.properties, admin: Type.Optional(UserCreated) }) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!isPlatformAdmin(principal)) throw new ApiError('FORBIDDEN', 'Only admins of the platform organisation may create organisations.');
      const body = request.body;
      const initialPassword = body.admin && !body.admin.password ? generatePassword() : undefined;
      const passwordHash = body.admin ? await hashPassword(body.admin.password ?? initialPassword!) : null;
      const ctx = adminContext(request);
      const result = await withTransaction(deps.pool, async (client) => {
        const { rows } = await client.query<OrgRow>(`INSERT INTO admin.orgs (id, name) VALUES ($1, $2) RETURNING ${ORG_COLUMNS}`, [randomUUID(), body.name.trim()]);
        const org = orgFromRow(rows[0]);
        const admin = body.admin
          ? await insertUser(client, {
              id: randomUUID(),
              orgId: org.id,
              email: normalizeEmail(body.admin.email),
              name: body.admin.name.trim(),
              passwordHash,
              roles: [{ orgId: org.id, siteId: null, role: 'admin' }],
            })
          : undefined;
        await auditAdmin(client, ctx, [
          { orgId: org.id, entityType: 'org', entityId: org.id, action: 'create', after: orgView(org) },
          ...(admin ? [{ orgId: org.id, entityType: 'user' as const, entityId: admin.id, action: 'create', after: userView(admin) }] : []),
        ]);
        const at = Date.now();
        await publishAdminEvents(client, [
          { topic: 'admin.org.created', payload: { orgId: org.id, at } },
          ...(admin ? [{ topic: 'admin.user.created' as const, payload: { userId: admin.id, orgId: org.id, at } }] : []),
        ]);
        await markClaimCommitted(client, request.idempotency, `/v1/orgs/${org.id}`);
        return { org, admin };
      });
      reply.header('ETag', orgEtag(result.org)).header('Location', `/v1/orgs/${result.org.id}`).header('cache-control', 'no-store').code(201);
      return { ...orgView(result.org), ...(result.admin ? { admin: { ...userView(result.admin), ...(initialPassword ? { initialPassword } : {}) } } : {}) };
    },
  );

  app.patch(
    '/v1/orgs/:id',
    { schema: { tags, summary: 'Rename an organisation (JSON Merge Patch; If-Match required)', params: IdParams, body: OrgPatch, response: { 200: OrgView } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const { id } = request.params;
      const expected = parseIfMatch(request.headers['if-match'], { kind: 'org', id });
      const org = await withTransaction(deps.pool, async (client) => {
        const { rows } = await client.query<OrgRow>(`SELECT ${ORG_COLUMNS} FROM admin.orgs WHERE id = $1 FOR UPDATE`, [id]);
        if (!rows[0] || (principal.orgId !== id && !isPlatformAdmin(principal))) throw notFound(id);
        if (!managesOrg(principal, id) && !isPlatformAdmin(principal)) throw new ApiError('FORBIDDEN', `Permission admin.manage on organisation ${id} is missing.`, { extra: { permission: 'admin.manage' } });
        const before = orgFromRow(rows[0]);
        assertVersion(expected, before.version, orgEtag(before));
        if (request.body.name === undefined || request.body.name.trim() === before.name) return before;
        const updated = await client.query<OrgRow>(
          `UPDATE admin.orgs SET name = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${ORG_COLUMNS}`,
          [id, request.body.name.trim()],
        );
        const after = orgFromRow(updated.rows[0]);
        await auditAdmin(client, adminContext(request), [{ orgId: id, entityType: 'org', entityId: id, action: 'update', before: orgView(before), after: orgView(after) }]);
        return after;
      });
      reply.header('ETag', orgEtag(org));
      return orgView(org);
    },
  );
}
