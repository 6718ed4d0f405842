import type pg from 'pg';
import { looksLikeJwt, tokenHash, type Authenticator } from '../auth/authenticator.ts';
import { principalFromClaims } from '../auth/jwt-claims.ts';
import type { Principal, RoleBinding } from '../auth/principal.ts';
import { narrow, normalizeBindings } from '../auth/role-bindings.ts';
import { prepared } from '../db/pool.ts';
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
  touch: boolean;
}

/** Only usable tokens: not revoked, not expired, their user enabled and not deleted. */
const FIND_TOKEN = `
  SELECT t.id, t.org_id, t.name, t.bindings, u.id AS user_id, u.name AS user_name,
         COALESCE((SELECT json_agg(json_build_object('orgId', b.org_id, 'siteId', b.site_id, 'role', b.role))
                     FROM admin.role_bindings b WHERE b.user_id = u.id), '[]'::json) AS user_roles,
         t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS touch
    FROM admin.api_tokens t JOIN admin.users u ON u.id = t.user_id
   WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
     AND NOT u.disabled AND u.deleted_at IS NULL`;

/**
 * The admin service's own authenticator, for every service running in its process. JWTs
 * verify against the admin's signing keys, and a user's JWT also needs the user to exist and be
 * enabled *now* — their bindings are read fresh, so a disabled user or a removed role takes
 * effect on the next request. API tokens are looked up by the sha256 of the secret and must be
 * unrevoked, unexpired and belong to an enabled user; their bindings narrow to what the user
 * still holds.
 *
 * @example
 * installAuth(app, createLocalAuthenticator({ pool, signer: await loadSigningKeys(pool) }));
 */
export function createLocalAuthenticator(opts: { pool: pg.Pool; signer: TokenSigner }): Authenticator {
  const { pool, signer } = opts;

  async function fromJwt(bearer: string): Promise<Principal | undefined> {
    const payload = await signer.verify(bearer);
    const claimed = payload && principalFromClaims(payload);
    if (!claimed || claimed.kind === 'service') return claimed;
    const user = await loadUser(pool, claimed.id);
    if (!user || user.disabled || user.orgId !== claimed.orgId) return undefined;
    return { kind: 'user', id: user.id, name: user.name, orgId: user.orgId, bindings: user.roles };
  }

  async function fromApiToken(bearer: string): Promise<Principal | undefined> {
    const { rows } = await pool.query<TokenRow>(prepared(FIND_TOKEN, [tokenHash(bearer)]));
    const t = rows[0];
    if (!t) return undefined;
    // Throttled: at most one write per token and minute, not one per request.
    if (t.touch) await pool.query(`UPDATE admin.api_tokens SET last_used_at = now() WHERE id = $1`, [t.id]);
    return {
      kind: 'token',
      id: t.id,
      name: t.name,
      orgId: t.org_id,
      bindings: narrow(normalizeBindings(t.bindings), normalizeBindings(t.user_roles)),
      onBehalfOf: { id: t.user_id, name: t.user_name },
    };
  }

  return {
    async authenticate(bearer) {
      return looksLikeJwt(bearer) ? fromJwt(bearer) : fromApiToken(bearer);
    },
  };
}
