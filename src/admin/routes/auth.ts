import type pg from 'pg';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { appendAuditEvents } from '../../audit/append.ts';
import type { AuditActor } from '../../audit/types.ts';
import { tokenHash } from '../../auth/authenticator.ts';
import { principalOf, requireService } from '../../auth/install-auth.ts';
import type { Principal } from '../../auth/principal.ts';
import { withTransaction } from '../../db/tx.ts';
import type { HttpApp } from '../../http/app.ts';
import { ApiError } from '../../http/errors.ts';
import { issueServiceToken, issueUserToken } from '../access-tokens.ts';
import { actingUserId } from '../access.ts';
import type { AdminDeps } from '../context.ts';
import { accountLocked, clearFailures, lockedFor, recordFailure } from '../lockout.ts';
import { verifyPassword } from '../passwords.ts';
import { AccessToken, IntrospectBody, IntrospectView, LoginBody, MeView, RefreshBody, ServiceTokenBody, TokenPair } from '../schemas.ts';
import { createSession, rotateSession } from '../sessions.ts';
import { findUserByEmail, loadUser, normalizeEmail, type User } from '../users-store.ts';
import { userView } from '../views.ts';

/** Audit chain of attempts that name no organisation (unknown accounts, services). */
export const GLOBAL_AUTH_SCOPE = 'auth:global';

const invalidCredentials = () => new ApiError('INVALID_CREDENTIALS', 'The email or the password is wrong.');

/** Login, refresh, who-am-I, token introspection and service tokens. */
export function authRoutes(app: HttpApp, deps: AdminDeps) {
  const tags = ['auth'];
  const { pool, settings } = deps;
  const perIp = { rateLimit: settings.loginRateLimit.perIp };
  const perAccount = app.createRateLimit({
    ...settings.loginRateLimit.perAccount,
    keyGenerator: (request) => `login:${normalizeEmail(String((request.body as { email?: unknown } | undefined)?.email ?? ''))}`,
  });

  /** One audit event per login attempt: on the user's organisation chain, or the global one for an unknown email. */
  async function auditLogin<T>(
    request: FastifyRequest,
    email: string,
    user: User | undefined,
    outcome: 'applied' | 'denied',
    comment: string,
    run?: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T | undefined> {
    const actor: AuditActor = user ? { type: 'user', id: user.id, name: user.name } : { type: 'user', id: 'unknown', name: email };
    return withTransaction(pool, async (client) => {
      const result = await run?.(client);
      await appendAuditEvents(client, [
        {
          scope: user ? `org:${user.orgId}` : GLOBAL_AUTH_SCOPE,
          actor,
          requestId: String(request.id),
          service: 'admin',
          orgId: user?.orgId ?? null,
          entityType: 'user',
          entityId: user?.id ?? email,
          action: 'login',
          outcome,
          after: { email },
          comment,
          sourceIp: request.ip,
        },
      ]);
      return result;
    });
  }

  app.post(
    '/v1/auth/login',
    { config: perIp, schema: { tags, summary: 'Log in with email and password: an access JWT and a refresh token', body: LoginBody, response: { 200: TokenPair } } },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email);
      const budget = await perAccount(request);
      // isAllowed means "on the allow list"; the budget is spent when isExceeded.
      if (!budget.isAllowed && budget.isExceeded) {
        throw new ApiError('RATE_LIMITED', `Too many login attempts for this account; retry in ${budget.ttlInSeconds} s.`, { headers: { 'retry-after': String(budget.ttlInSeconds) } });
      }
      const user = await findUserByEmail(pool, email);
      const retry = await lockedFor(pool, email);
      if (retry > 0) {
        await auditLogin(request, email, user, 'denied', 'account locked');
        throw accountLocked(retry);
      }
      // Always one Argon2id verification, also for an unknown email (against a decoy hash).
      const passwordOk = await verifyPassword(user?.passwordHash ?? null, request.body.password);
      if (!user || !passwordOk || user.disabled) {
        const why = !user ? 'unknown account' : !passwordOk ? 'wrong password' : 'account disabled';
        await auditLogin(request, email, user, 'denied', why, (client) => recordFailure(client, email, settings.lockout));
        throw invalidCredentials();
      }
      const session = await auditLogin(request, email, user, 'applied', 'password', async (client) => {
        await clearFailures(client, email);
        return createSession(client, user.id, settings.refreshTokenTtlSeconds);
      });
      const access = await issueUserToken(deps.signer, user, settings.accessTokenTtlSeconds);
      reply.header('cache-control', 'no-store');
      return { ...access, refreshToken: session!.refreshToken, refreshExpiresIn: session!.expiresIn };
    },
  );

  app.post(
    '/v1/auth/refresh',
    { config: perIp, schema: { tags, summary: 'Trade a refresh token (single use) for a new access JWT and refresh token', body: RefreshBody, response: { 200: TokenPair } } },
    async (request, reply) => {
      const rotated = await rotateSession(pool, request.body.refreshToken, settings.refreshTokenTtlSeconds);
      const user = rotated && (await loadUser(pool, rotated.userId));
      if (!rotated || !user || user.disabled) {
        throw new ApiError('UNAUTHENTICATED', 'The refresh token is not valid (unknown, expired or already used); log in again.', {
          headers: { 'WWW-Authenticate': 'Bearer realm="rema", error="invalid_token"' },
        });
      }
      const access = await issueUserToken(deps.signer, user, settings.accessTokenTtlSeconds);
      reply.header('cache-control', 'no-store');
      return { ...access, refreshToken: rotated.refreshToken, refreshExpiresIn: rotated.expiresIn };
    },
  );

  app.get('/v1/auth/me', { schema: { tags, summary: 'Who the bearer token stands for, with its role bindings', response: { 200: MeView } } }, async (request) => {
    const principal = principalOf(request);
    const userId = actingUserId(principal);
    const user = userId ? await loadUser(pool, userId) : undefined;
    return { ...principalView(principal), ...(user ? { user: userView(user) } : {}) };
  });

  app.post(
    '/v1/auth/introspect',
    { schema: { tags, summary: 'Service only: the principal a token stands for, or active: false', body: IntrospectBody, response: { 200: IntrospectView } } },
    async (request, reply) => {
      requireService(request);
      // Read afresh: the caller keeps the answer (up to 30 s), and may be asking because a change
      // it heard of has not reached this instance's cache yet.
      const principal = await deps.authenticator.authenticate(request.body.token, { ip: request.ip, fresh: true });
      reply.header('cache-control', 'no-store');
      if (!principal) return { active: false };
      if (principal.kind !== 'token') return { active: true, principal: principalView(principal) };
      // An API token's expiry, which the caller must not keep the answer past.
      const { rows } = await pool.query<{ expires_at: Date | null }>('SELECT expires_at FROM admin.api_tokens WHERE secret_hash = $1', [tokenHash(request.body.token)]);
      return { active: true, principal: principalView(principal), expiresAt: rows[0]?.expires_at?.toISOString() ?? null };
    },
  );

  app.post(
    '/v1/auth/service-token',
    { config: perIp, schema: { tags, summary: 'Trade the shared service secret (REMA_SERVICE_SECRET) for a short-lived service JWT', body: ServiceTokenBody, response: { 200: AccessToken } } },
    async (request, reply) => {
      const expected = settings.serviceSecret;
      const ok = expected !== undefined && expected !== '' && timingSafeEqual(tokenHash(request.body.secret), tokenHash(expected));
      if (!ok) {
        await withTransaction(pool, (client) =>
          appendAuditEvents(client, [
            {
              scope: GLOBAL_AUTH_SCOPE,
              actor: { type: 'system', id: request.body.service, name: `${request.body.service} service` },
              requestId: String(request.id),
              service: 'admin',
              entityType: 'service',
              entityId: request.body.service,
              action: 'service-token',
              outcome: 'denied',
              comment: expected ? 'wrong service secret' : 'service tokens are disabled',
              sourceIp: request.ip,
            },
          ]),
        );
        throw new ApiError('INVALID_CREDENTIALS', expected ? 'The service secret is wrong.' : 'Service tokens are disabled: REMA_SERVICE_SECRET is not set.');
      }
      reply.header('cache-control', 'no-store');
      return issueServiceToken(deps.signer, request.body.service, settings.serviceTokenTtlSeconds);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    { schema: { tags, summary: 'The public keys that verify rema access tokens (JWKS, RFC 7517)' } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return deps.signer.jwks();
    },
  );
}

/** A principal as the API shows it. */
export function principalView(p: Principal) {
  return {
    kind: p.kind,
    id: p.id,
    name: p.name,
    orgId: p.orgId,
    bindings: p.bindings.map((b) => ({ orgId: b.orgId, siteId: b.siteId, role: b.role })),
    ...(p.onBehalfOf ? { onBehalfOf: { id: p.onBehalfOf.id, name: p.onBehalfOf.name } } : {}),
  };
}
