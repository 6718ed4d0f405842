import type pg from 'pg';
import { looksLikeJwt, tokenHash, type AuthContext, type Authenticator } from '../auth/authenticator.ts';
import { issuedAtMs, principalFromClaims } from '../auth/jwt-claims.ts';
import type { Principal, RoleBinding } from '../auth/principal.ts';
import { narrow, normalizeBindings } from '../auth/role-bindings.ts';
import { prepared } from '../db/pool.ts';
import { createAccessCache } from './access-cache.ts';
import type { TokenSigner } from './signing-keys.ts';
import { loadUser } from './users-store.ts';

interface TokenRow {
  id: string;
  org_id: string;
  name: string;
  bindings: RoleBinding[];
  user_id: string;
  user_name: string;
  user_roles: RoleBinding[];
  expires_at: Date | null;
  touch: boolean;
}

/** Only usable tokens: not revoked, not expired, their user enabled and not deleted. */
const FIND_TOKEN = `
  SELECT t.id, t.org_id, t.name, t.bindings, u.id AS user_id, u.name AS user_name, t.expires_at,
         COALESCE((SELECT json_agg(json_build_object('orgId', b.org_id, 'siteId', b.site_id, 'role', b.role))
                     FROM admin.role_bindings b WHERE b.user_id = u.id), '[]'::json) AS user_roles,
         t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS touch
    FROM admin.api_tokens t JOIN admin.users u ON u.id = t.user_id
   WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
     AND NOT u.disabled AND u.deleted_at IS NULL`;

/** The admin's authenticator, with what it keeps of its lookups. */
export interface LocalAuthenticator extends Authenticator {
  /** Drops every kept lookup (a notification does the same); for a change made in this process. */
  forget(): void;
  /** True while it listens for changes, and so keeps what it reads. */
  readonly listening: boolean;
  /** Closes the listening connection. */
  close(): Promise<void>;
}

/** How long a lookup may be kept at most: `REMA_AUTH_CACHE_SECONDS`, else 30; 0 keeps none. */
export function authCacheSecondsFromEnv(): number {
  const raw = process.env.REMA_AUTH_CACHE_SECONDS;
  if (raw === undefined || raw === '') return 30;
  const parsed = Number(raw);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 300) throw new Error(`REMA_AUTH_CACHE_SECONDS must be a whole number of seconds from 0 to 300, not ${JSON.stringify(raw)}`);
  return parsed;
}

/**
 * The admin service's own authenticator, for every service running in its process. JWTs
 * verify against the admin's signing keys, and a user's JWT also needs the user to exist and be
 * enabled, and to have been issued after the user's last disable or enable (re-enabling a user
 * does not revive the JWTs from before) — their bindings are read from the database, so a disabled user
 * or a removed role takes effect on the next request. API tokens are looked up by the sha256 of
 * the secret and must be unrevoked, unexpired and belong to an enabled user; their bindings
 * narrow to what the user still holds.
 *
 * What a lookup reads (a token's row, a user and their bindings) is kept for up to
 * `cacheSeconds` (and never past a token's expiry), but only while nothing changed: every change
 * to tokens, users or role bindings notifies each instance, which drops all it kept (see
 * `createAccessCache`); a change made through this process's admin API drops it before the
 * answer is sent, and while the listening connection is down nothing is kept. `ctx.fresh`
 * (introspection) reads and keeps nothing.
 *
 * @example
 * installAuth(app, createLocalAuthenticator({ pool, signer: await loadSigningKeys(pool) }));
 */
export function createLocalAuthenticator(opts: { pool: pg.Pool; signer: TokenSigner; cacheSeconds?: number }): LocalAuthenticator {
  const { pool, signer } = opts;
  const cache = createAccessCache({
    connection: pool.options,
    ttlMs: (opts.cacheSeconds ?? authCacheSecondsFromEnv()) * 1000,
    onDown: (err) => console.warn(`rema: cannot listen for changes to tokens and users (${err.message}); every request reads its credentials until it can`),
  });

  /** What a user's JWT needs of them: not their password hash or email. */
  async function accessOf(id: string) {
    const user = await loadUser(pool, id);
    return user && { id: user.id, name: user.name, orgId: user.orgId, disabled: user.disabled, tokensValidAfter: user.tokensValidAfter, roles: user.roles };
  }

  async function fromJwt(bearer: string, ctx: AuthContext): Promise<Principal | undefined> {
    const payload = await signer.verify(bearer);
    const claimed = payload && principalFromClaims(payload);
    if (!claimed || claimed.kind === 'service') return claimed;
    const user = await cache.get(`user:${claimed.id}`, () => accessOf(claimed.id), { fresh: ctx.fresh });
    if (!user || user.disabled || user.orgId !== claimed.orgId) return undefined;
    // Issued before the user's last disable (or enable): stays refused once they are enabled again.
    if (user.tokensValidAfter !== null && issuedAtMs(payload) <= user.tokensValidAfter) return undefined;
    return { kind: 'user', id: user.id, name: user.name, orgId: user.orgId, bindings: user.roles };
  }

  async function lookUpToken(hash: Buffer): Promise<{ principal: Principal; expiresAt: number | undefined } | undefined> {
    const { rows } = await pool.query<TokenRow>(prepared(FIND_TOKEN, [hash]));
    const t = rows[0];
    if (!t) return undefined;
    // Throttled: at most one write per token and minute, not one per request.
    if (t.touch) await pool.query(`UPDATE admin.api_tokens SET last_used_at = now() WHERE id = $1`, [t.id]);
    const principal: Principal = {
      kind: 'token',
      id: t.id,
      name: t.name,
      orgId: t.org_id,
      bindings: narrow(normalizeBindings(t.bindings), normalizeBindings(t.user_roles)),
      onBehalfOf: { id: t.user_id, name: t.user_name },
    };
    return { principal, expiresAt: t.expires_at?.getTime() };
  }

  async function fromApiToken(bearer: string, ctx: AuthContext): Promise<Principal | undefined> {
    const hash = tokenHash(bearer);
    const found = await cache.get(`token:${hash.toString('hex')}`, () => lookUpToken(hash), { until: (t) => t?.expiresAt, fresh: ctx.fresh });
    return found?.principal;
  }

  return {
    async authenticate(bearer, ctx) {
      return looksLikeJwt(bearer) ? fromJwt(bearer, ctx) : fromApiToken(bearer, ctx);
    },
    forget: cache.forget,
    get listening() {
      return cache.listening;
    },
    close: cache.close,
  };
}
