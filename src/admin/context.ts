import type pg from 'pg';
import type { LocalAuthenticator } from './local-authenticator.ts';
import type { LockoutPolicy } from './lockout.ts';
import type { TokenSigner } from './signing-keys.ts';

/** A request budget: `max` requests per `timeWindow` milliseconds. */
export interface RateBudget {
  max: number;
  timeWindow: number;
}

/** The knobs of authentication; tests shorten them. */
export interface AdminSettings {
  /** Lifetime of a login's access JWT (default 900 s). */
  accessTokenTtlSeconds: number;
  /** Lifetime of a refresh token (default 12 h). */
  refreshTokenTtlSeconds: number;
  /** Lifetime of a service JWT (default 300 s). */
  serviceTokenTtlSeconds: number;
  lockout: LockoutPolicy;
  /** Credential endpoints (login, refresh, service-token) per client IP, and login per account. */
  loginRateLimit: { perIp: RateBudget; perAccount: RateBudget };
  /** Shared secret services exchange for a service JWT (`REMA_SERVICE_SECRET`); unset: none. */
  serviceSecret: string | undefined;
}

export const DEFAULT_SETTINGS: AdminSettings = {
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 12 * 3600,
  serviceTokenTtlSeconds: 300,
  lockout: { maxFailures: 5, lockSeconds: 900 },
  loginRateLimit: { perIp: { max: 30, timeWindow: 60_000 }, perAccount: { max: 10, timeWindow: 60_000 } },
  serviceSecret: undefined,
};

/** What the admin routes need, wired in `createAdminService`. */
export interface AdminDeps {
  pool: pg.Pool;
  signer: TokenSigner;
  authenticator: LocalAuthenticator;
  settings: AdminSettings;
}
