import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Role, RoleBinding } from '../auth/principal.ts';
import { migrateSchema } from '../db/migrate.ts';
import { withTransaction } from '../db/tx.ts';
import { eventFeedRoutes } from '../events/feed.ts';
import type { HttpApp } from '../http/app.ts';
import { issueServiceToken, issueUserToken } from './access-tokens.ts';
import { auditAdmin, SYSTEM_ACTOR } from './admin-audit.ts';
import { ensureApiToken } from './api-tokens.ts';
import { bootstrapAdmin, PLATFORM_ORG_ID, type BootstrapResult } from './bootstrap.ts';
import { DEFAULT_SETTINGS, type AdminDeps, type AdminSettings } from './context.ts';
import { createLocalAuthenticator, type LocalAuthenticator } from './local-authenticator.ts';
import { authRoutes } from './routes/auth.ts';
import { orgRoutes } from './routes/orgs.ts';
import { roleRoutes } from './routes/roles.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';
import { loadSigningKeys, type TokenSigner } from './signing-keys.ts';
import { insertUser } from './users-store.ts';
import { userView } from './views.ts';

export const ADMIN_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Creates or upgrades the `admin` schema. */
export function migrateAdminSchema(databaseUrl: string) {
  return migrateSchema(databaseUrl, { schema: 'admin', dir: ADMIN_MIGRATIONS_DIR });
}

export type AdminServiceOptions = Partial<Omit<AdminSettings, 'lockout' | 'loginRateLimit'>> & {
  lockout?: Partial<AdminSettings['lockout']>;
  loginRateLimit?: Partial<AdminSettings['loginRateLimit']>;
};

/** The admin service, wired: what `buildServer` and tests use besides its HTTP routes. */
export interface AdminService {
  deps: AdminDeps;
  /** Verifies bearer tokens in this process (`installAuth(app, admin.authenticator)`). */
  authenticator: LocalAuthenticator;
  signer: TokenSigner;
  /** Makes the platform organisation and its first admin on first start (see `bootstrapAdmin`). */
  bootstrap(opts?: { email?: string; password?: string }): Promise<BootstrapResult>;
  /**
   * Makes sure `secret` is an API token of the bootstrap admin with an org-wide admin binding
   * on the platform organisation (no expiry): the operator token of `rema serve` and the
   * `bootstrapToken` of tests. Idempotent; a revoked token stays revoked.
   */
  ensureBootstrapToken(secret: string, name?: string): Promise<'created' | 'exists' | 'revoked'>;
  /**
   * A fresh user holding `bindings` (in `opts.orgId`, default the platform organisation, created
   * when missing) and an access JWT for them. In-process only — for tests and fixtures.
   */
  tokenFor(bindings: ReadonlyArray<{ role: Role; siteId?: string | null }>, opts?: { orgId?: string; name?: string }): Promise<string>;
  /** A service JWT for in-process calls between services. */
  serviceToken(service: string): Promise<string>;
  /**
   * A synchronous source of service JWTs for clients that need one per request: `get()`
   * returns the current token and renews it in the background at half its lifetime.
   */
  serviceTokenSource(service: string): Promise<{ get(): string }>;
}

/**
 * Wires the admin service on `pool`: loads (or creates) its signing key and builds the local
 * authenticator. Register its routes with {@link registerAdminService}.
 *
 * @example
 * const admin = await createAdminService(pool, { serviceSecret: process.env.REMA_SERVICE_SECRET });
 * installAuth(app, admin.authenticator);
 * registerAdminService(app, admin);
 */
export async function createAdminService(pool: pg.Pool, opts: AdminServiceOptions = {}): Promise<AdminService> {
  const settings: AdminSettings = {
    ...DEFAULT_SETTINGS,
    ...opts,
    lockout: { ...DEFAULT_SETTINGS.lockout, ...opts.lockout },
    loginRateLimit: { ...DEFAULT_SETTINGS.loginRateLimit, ...opts.loginRateLimit },
    serviceSecret: opts.serviceSecret ?? process.env.REMA_SERVICE_SECRET,
  };
  const signer = await loadSigningKeys(pool);
  const authenticator = createLocalAuthenticator({ pool, signer });
  const deps: AdminDeps = { pool, signer, authenticator, settings };
  let bootstrapped: BootstrapResult | undefined;

  const bootstrap = async (o?: { email?: string; password?: string }) => {
    const result = await bootstrapAdmin(pool, o);
    if (!bootstrapped || result.created) bootstrapped = result;
    return result;
  };

  return {
    deps,
    authenticator,
    signer,
    bootstrap,
    async ensureBootstrapToken(secret, name = 'operator token') {
      const admin = bootstrapped ?? (await bootstrap());
      const roles: RoleBinding[] = [{ orgId: admin.orgId, siteId: null, role: 'admin' }];
      const ctx = { actor: SYSTEM_ACTOR, requestId: null, sourceIp: null };
      return ensureApiToken(pool, { orgId: admin.orgId, userId: admin.userId, name, secret, roles, expiresAt: null }, ctx);
    },
    async tokenFor(bindings, o = {}) {
      const orgId = o.orgId ?? PLATFORM_ORG_ID;
      const roles: RoleBinding[] = bindings.map((b) => ({ orgId, siteId: b.siteId ?? null, role: b.role }));
      const user = await withTransaction(pool, async (client) => {
        await client.query(`INSERT INTO admin.orgs (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [orgId, `Organisation ${orgId.slice(0, 8)}`]);
        const id = randomUUID();
        const created = await insertUser(client, { id, orgId, email: `user-${id}@fixtures.rema.local`, name: o.name ?? 'Fixture user', passwordHash: null, roles });
        const actor = { type: 'system' as const, id: 'rema-fixtures', name: 'rema test fixtures' };
        await auditAdmin(client, { actor, requestId: null, sourceIp: null }, [{ orgId, entityType: 'user', entityId: id, action: 'create', after: userView(created) }]);
        return created;
      });
      return (await issueUserToken(signer, user, settings.accessTokenTtlSeconds)).accessToken;
    },
    async serviceToken(service) {
      return (await issueServiceToken(signer, service, settings.serviceTokenTtlSeconds)).accessToken;
    },
    async serviceTokenSource(service) {
      const ttlMs = settings.serviceTokenTtlSeconds * 1000;
      let current = { token: (await issueServiceToken(signer, service, settings.serviceTokenTtlSeconds)).accessToken, renewAt: Date.now() + ttlMs / 2 };
      let renewing = false;
      return {
        get() {
          if (Date.now() >= current.renewAt && !renewing) {
            renewing = true;
            void issueServiceToken(signer, service, settings.serviceTokenTtlSeconds)
              .then((t) => (current = { token: t.accessToken, renewAt: Date.now() + ttlMs / 2 }))
              .catch(() => undefined) // keep the current token (valid for the other half); retry on the next call
              .finally(() => (renewing = false));
          }
          return current.token;
        },
      };
    },
  };
}

/**
 * The admin API: organisations, users, role bindings, API tokens, login and tokens, the JWKS
 * (`/.well-known/jwks.json`) and the admin event feed (`/v1/internal/events/admin`).
 */
export function registerAdminService(app: HttpApp, admin: AdminService): void {
  authRoutes(app, admin.deps);
  orgRoutes(app, admin.deps);
  userRoutes(app, admin.deps);
  roleRoutes(app, admin.deps);
  tokenRoutes(app, admin.deps);
  eventFeedRoutes(app, { service: 'admin', schema: 'admin', pool: admin.deps.pool });
}
