import { hash } from 'node:crypto';
import type { Principal } from './principal.ts';

/** What an authenticator may know of the request besides the bearer token. */
export interface AuthContext {
  ip: string;
  /**
   * Read the credential's state from its source, not from what an authenticator keeps: for
   * answers that others keep in turn (introspection), which must never repeat a stale one.
   */
  fresh?: boolean;
}

/**
 * Turns a bearer token into the principal it stands for, or `undefined` when the token is
 * malformed, unknown, expired, revoked or belongs to a disabled user. Never throws for a bad
 * token (only for infrastructure failures, which surface as 503).
 *
 * Two implementations: `createLocalAuthenticator` (src/admin, in the admin's process, reads the
 * admin tables) and `createRemoteAuthenticator` (src/auth, any other process, asks the admin
 * service over HTTP).
 */
export interface Authenticator {
  authenticate(bearer: string, ctx: AuthContext): Promise<Principal | undefined>;
}

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * True for a compact JWS (an access or service token); anything else is treated as an opaque
 * API token.
 *
 * @example
 * looksLikeJwt('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'); // true
 * looksLikeJwt('rema_Zm9vYmFy'); // false
 */
export function looksLikeJwt(token: string): boolean {
  return token.length < 16_384 && JWT_SHAPE.test(token);
}

/** sha256 of an opaque token: how API tokens and refresh tokens are stored and looked up. */
export function tokenHash(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}
