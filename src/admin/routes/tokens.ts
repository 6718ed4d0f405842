import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize, principalOf } from '../../auth/install-auth.ts';
import { covers } from '../../auth/role-bindings.ts';
import { withTransaction } from '../../db/tx.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted } from '../../http/idempotency.ts';
import { assertVersion, parseIfMatch } from '../../http/etag.ts';
import { CursorField, decodeCursor, Page, pageQueryProperties, toPage } from '../../http/pagination.ts';
import { adminContext, auditAdmin } from '../admin-audit.ts';
import { actingUserId, callerOrg, managesOrg } from '../access.ts';
import { generateApiTokenSecret, insertApiToken, listApiTokens, loadApiToken, type ApiToken } from '../api-tokens.ts';
import type { AdminDeps } from '../context.ts';
import { publishAdminEvents } from '../events.ts';
import { IsoInstant, TokenCreate, TokenCreated, TokenId, TokenIdParams, TokenView, Uuid } from '../schemas.ts';
import { tokenEtag, tokenView } from '../views.ts';
import { bindingsIn } from './users.ts';

const DAY_MS = 86_400_000;
export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;
// To the microsecond since 2026-11-28; a cursor of before, to the millisecond, still reads.
const TokenCursor = Type.Object({ createdAt: Type.Union([CursorField.instantUs, IsoInstant]), id: TokenId });

/** A token of the caller's organisation the caller may see: their own, or any for admins. */
async function visibleToken(request: FastifyRequest, deps: AdminDeps, id: string, opts: { lock?: boolean; client?: pg.PoolClient } = {}): Promise<ApiToken> {
  const orgId = callerOrg(request);
  const token = await loadApiToken(opts.client ?? deps.pool, id, { lock: opts.lock });
  const notFound = `API token ${id} does not exist.`;
  if (!token || token.orgId !== orgId) throw new ApiError('NOT_FOUND', notFound);
  if (actingUserId(principalOf(request)) !== token.userId) authorize(request, 'admin.manage', { orgId }, notFound);
  return token;
}

function expiryOf(expiresAt: string | undefined): Date {
  const now = Date.now();
  if (expiresAt === undefined) return new Date(now + DEFAULT_TOKEN_DAYS * DAY_MS);
  const at = Date.parse(expiresAt);
  if (!(at > now) || at > now + MAX_TOKEN_DAYS * DAY_MS) {
    throw new ApiError('VALIDATION_FAILED', '1 field of the body failed validation.', {
      extra: { errors: [{ in: 'body', path: '/expiresAt', message: `must be in the future and at most ${MAX_TOKEN_DAYS} days ahead` }] },
    });
  }
  return new Date(at);
}

/**
 * API tokens for machines: created by a logged-in user, scoped to bindings no wider than the
 * user's own, expiring, revocable. The secret is in the creation response only.
 */
export function tokenRoutes(app: HttpApp, deps: AdminDeps) {
  const tags = ['auth'];

  app.post(
    '/v1/tokens',
    { schema: { tags, summary: 'Create an API token (the secret is shown once)', body: TokenCreate, response: { 201: TokenCreated } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const orgId = callerOrg(request);
      if (principal.kind !== 'user') {
        throw new ApiError('FORBIDDEN', 'API tokens are created by users who logged in; a token cannot create tokens.');
      }
      const roles = request.body.roles ? bindingsIn(orgId, request.body.roles) : principal.bindings.filter((b) => b.orgId === orgId);
      const wider = roles.filter((b) => !covers(principal.bindings, b));
      if (wider.length > 0) {
        const list = wider.map((b) => `${b.role} on ${b.siteId ? `site ${b.siteId}` : 'the organisation'}`).join(', ');
        throw new ApiError('FORBIDDEN', `A token cannot have more rights than you: you do not hold ${list}.`);
      }
      if (roles.length === 0) throw new ApiError('FORBIDDEN', 'You hold no role in your organisation, so a token of yours could do nothing.');
      const expiresAt = expiryOf(request.body.expiresAt);
      let secret = generateApiTokenSecret();
      const token = await withTransaction(deps.pool, async (client) => {
        let created = await insertApiToken(client, { orgId, userId: principal.id, name: request.body.name.trim(), secret, roles, expiresAt });
        for (let attempt = 0; !created && attempt < 3; attempt++) {
          secret = generateApiTokenSecret(); // its 48-bit id was taken
          created = await insertApiToken(client, { orgId, userId: principal.id, name: request.body.name.trim(), secret, roles, expiresAt });
        }
        if (!created) throw new Error('could not draw an unused API token id');
        await auditAdmin(client, adminContext(request), [{ orgId, entityType: 'api_token', entityId: created.id, action: 'create', after: tokenView(created) }]);
        await markClaimCommitted(client, request.idempotency, `/v1/tokens/${created.id}`);
        return created;
      });
      reply.header('ETag', tokenEtag(token)).header('Location', `/v1/tokens/${token.id}`).header('cache-control', 'no-store').code(201);
      return { ...tokenView(token), secret };
    },
  );

  app.get(
    '/v1/tokens',
    {
      schema: {
        tags,
        summary: 'API tokens, without secrets: yours, or all of your organisation for admins',
        querystring: Type.Object({ userId: Type.Optional(Uuid), ...pageQueryProperties }),
        response: { 200: Page(TokenView) },
      },
    },
    async (request) => {
      const orgId = callerOrg(request);
      const principal = principalOf(request);
      const { userId, limit, cursor } = request.query;
      const self = actingUserId(principal);
      const filterUser = managesOrg(principal, orgId) ? (userId ?? null) : self;
      if (filterUser === null && !managesOrg(principal, orgId)) return { items: [], nextCursor: null };
      if (userId !== undefined && filterUser !== userId) return { items: [], nextCursor: null };
      const rows = await listApiTokens(deps.pool, { orgId, userId: filterUser }, cursor ? decodeCursor(cursor, TokenCursor) : null, limit + 1);
      const page = toPage(rows, limit, (t) => ({ createdAt: t.cursorAt, id: t.id }));
      return { items: page.items.map(tokenView), nextCursor: page.nextCursor };
    },
  );

  app.get('/v1/tokens/:id', { schema: { tags, summary: 'An API token, without its secret', params: TokenIdParams, response: { 200: TokenView } } }, async (request, reply) => {
    const token = await visibleToken(request, deps, request.params.id);
    reply.header('ETag', tokenEtag(token));
    return tokenView(token);
  });

  app.delete('/v1/tokens/:id', { schema: { tags, summary: 'Revoke an API token (If-Match required)', params: TokenIdParams } }, async (request, reply) => {
    const { id } = request.params;
    const expected = parseIfMatch(request.headers['if-match'], { kind: 'token', id });
    await withTransaction(deps.pool, async (client) => {
      const before = await visibleToken(request, deps, id, { lock: true, client });
      assertVersion(expected, before.version, tokenEtag(before));
      if (before.revokedAt) return;
      await client.query(`UPDATE admin.api_tokens SET revoked_at = now(), version = version + 1 WHERE id = $1`, [id]);
      const after = (await loadApiToken(client, id))!;
      await auditAdmin(client, adminContext(request), [{ orgId: before.orgId, entityType: 'api_token', entityId: id, action: 'revoke', before: tokenView(before), after: tokenView(after) }]);
      await publishAdminEvents(client, [{ topic: 'admin.token.revoked', payload: { tokenId: id, userId: before.userId, orgId: before.orgId, at: Date.now() } }]);
    });
    deps.authenticator.forget(); // committed: this instance stops accepting the token before answering
    reply.code(204);
  });
}
