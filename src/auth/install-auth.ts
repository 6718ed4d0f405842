/**
 * Authentication of every `/v1` request and the helpers routes use to authorise. The
 * authenticator decides who is calling; {@link authorize} asks `decide` whether they may.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/types.ts';
import { ApiError } from '../http/errors.ts';
import type { Authenticator } from './authenticator.ts';
import { actorOf, decide, type Permission, type Principal } from './principal.ts';
import { grantedScopes, type Scope } from './scopes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is calling: set by authentication before any handler of a `/v1` route runs (every
     * route but the public ones of {@link PUBLIC_V1_ROUTES}, where it is null).
     */
    principal: Principal;
    /** The audit actor of {@link FastifyRequest.principal} (`actorOf`). */
    actor: AuditActor;
  }
}

/** Header a service principal sets to act for a user: `{"id":"<user id>","name":"<name>"}`. */
export const ON_BEHALF_OF_HEADER = 'x-rema-on-behalf-of';

/**
 * `/v1` routes that authenticate with something else than a bearer token: credentials in the
 * body (login), a refresh token (refresh) or the shared service secret (service-token).
 */
export const PUBLIC_V1_ROUTES: readonly string[] = ['/v1/auth/login', '/v1/auth/refresh', '/v1/auth/service-token'];

const BEARER = /^Bearer[ \t]+([\x21-\x7e]{1,16384})[ \t]*$/i;

function unauthenticated(detail: string, error?: 'invalid_token' | 'invalid_request'): ApiError {
  const challenge = error ? `Bearer realm="rema", error="${error}"` : 'Bearer realm="rema"';
  return new ApiError('UNAUTHENTICATED', detail, { headers: { 'WWW-Authenticate': challenge } });
}

/**
 * Installs authentication: an `onRequest` hook on every `/v1` route except
 * {@link PUBLIC_V1_ROUTES} that reads `Authorization: Bearer <token>`, asks `authenticator` who
 * it is and sets `request.principal` and `request.actor` — or answers 401 UNAUTHENTICATED with
 * a `WWW-Authenticate` challenge for a missing, malformed, unknown, expired or revoked token.
 *
 * A service principal may add {@link ON_BEHALF_OF_HEADER}; the user it names becomes
 * `onBehalfOf` of the principal and of the audit actor.
 *
 * @example
 * const app = await buildHttpApp();
 * installAuth(app, createLocalAuthenticator({ pool, keys }));
 */
export function installAuth(app: FastifyInstance, authenticator: Authenticator, opts: { publicRoutes?: readonly string[] } = {}): void {
  const publicRoutes = new Set(opts.publicRoutes ?? PUBLIC_V1_ROUTES);
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('actor', null as unknown as AuditActor);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!request.url.startsWith('/v1/')) return;
    if (publicRoutes.has(request.routeOptions.url ?? request.url.split('?', 1)[0])) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw unauthenticated('Send a token as "Authorization: Bearer <token>": log in at POST /v1/auth/login, or use an API token.');
    }
    const match = BEARER.exec(header);
    if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>".', 'invalid_request');
    let principal = await authenticator.authenticate(match[1], { ip: request.ip });
    if (!principal) throw unauthenticated('The bearer token is not valid: unknown, expired or revoked, or its user is disabled.', 'invalid_token');
    const onBehalfOf = parseOnBehalfOf(request.headers[ON_BEHALF_OF_HEADER]);
    if (onBehalfOf) {
      if (principal.kind !== 'service') throw new ApiError('FORBIDDEN', `Only service principals may send ${ON_BEHALF_OF_HEADER}.`);
      principal = { ...principal, onBehalfOf };
    }
    request.principal = principal;
    request.actor = actorOf(principal);
  });
}

function parseOnBehalfOf(header: string | string[] | undefined): { id: string; name: string } | undefined {
  if (header === undefined) return undefined;
  const bad = () => new ApiError('BAD_REQUEST', `${ON_BEHALF_OF_HEADER} must be JSON {"id": "<user id>", "name": "<user name>"}.`);
  if (Array.isArray(header)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw bad();
  }
  const { id, name } = (value ?? {}) as { id?: unknown; name?: unknown };
  const ok = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= 200;
  if (!ok(id) || !ok(name)) throw bad();
  return { id, name };
}

/** The authenticated principal of `request`; 401 when the route was not authenticated. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthenticated('This route needs an authenticated caller.');
  return request.principal;
}

/**
 * Refuses the request unless its principal may do `permission` on a resource of `scope`:
 * 404 NOT_FOUND when the principal has nothing in the resource's organisation or site (so
 * another tenant's resource answers exactly like a missing one — pass the same `notFound`
 * detail the route uses for a missing resource), 403 FORBIDDEN naming the missing permission
 * otherwise.
 *
 * @example
 * const site = await getSite(deps, id); // 404 `Site ${id} does not exist.` when missing
 * authorize(request, 'config.write', { orgId: site.orgId, siteId: site.id }, `Site ${id} does not exist.`);
 */
export function authorize(
  request: FastifyRequest,
  permission: Permission,
  scope: { orgId: string; siteId?: string | null },
  notFound = 'The resource does not exist.',
): void {
  const principal = principalOf(request);
  const decision = decide(principal, permission, scope);
  if (decision === 'allow') return;
  if (decision === 'not-found') throw new ApiError('NOT_FOUND', notFound);
  const where = scope.siteId ? `site ${scope.siteId}` : `organisation ${scope.orgId}`;
  throw new ApiError('FORBIDDEN', `Permission ${permission} on ${where} is missing: none of your roles there grants it.`, {
    extra: { permission },
  });
}

/** True when the principal may do `permission` on `scope` (for filtering and optional fields). */
export function can(request: FastifyRequest, permission: Permission, scope: { orgId: string; siteId?: string | null }): boolean {
  return request.principal ? decide(request.principal, permission, scope) === 'allow' : false;
}

/** Refuses (403) every principal but a service: internal routes, introspection, event feeds. */
export function requireService(request: FastifyRequest): void {
  if (principalOf(request).kind !== 'service') throw new ApiError('FORBIDDEN', 'Only service principals may call this route.');
}

/**
 * Like {@link authorize}, for a resource that the route treats as missing in its own way when
 * the caller cannot see it (a 422 on the body field that names it, a guard violation): false
 * where `authorize` would answer 404, 403 FORBIDDEN where it would, true when allowed.
 *
 * @example
 * const fresh = locked.get(body.newDeviceId);
 * if (!fresh || !authorizeIfVisible(request, 'lifecycle.write', deviceScope(fresh))) throw noSuchDevice();
 */
export function authorizeIfVisible(request: FastifyRequest, permission: Permission, scope: { orgId: string; siteId?: string | null }): boolean {
  if (decide(principalOf(request), permission, scope) === 'not-found') return false;
  authorize(request, permission, scope);
  return true;
}

/**
 * The scopes in which the caller holds `permission` (`null`: a service, everything), for lists
 * filtered in SQL with `scopeCondition`. With `required`, 403 FORBIDDEN when it holds it nowhere.
 *
 * @example
 * const scopes = scopesOf(request, 'audit.read', { required: true });
 */
export function scopesOf(request: FastifyRequest, permission: Permission, opts: { required?: boolean } = {}): Scope[] | null {
  const scopes = grantedScopes(principalOf(request), permission);
  if (opts.required && scopes !== null && scopes.length === 0) {
    throw new ApiError('FORBIDDEN', `Permission ${permission} is missing: none of your roles grants it anywhere.`, { extra: { permission } });
  }
  return scopes;
}
