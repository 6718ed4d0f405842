import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { withTransaction } from '../db/tx.ts';
import { JWT_ALG, JWT_AUDIENCE, JWT_ISSUER, type AccessClaims } from '../auth/jwt-claims.ts';

/** Signs and verifies rema access tokens with the admin service's ES256 key. */
export interface TokenSigner {
  /** Key id of the signing key (its RFC 7638 thumbprint). */
  readonly kid: string;
  /** The public keys to publish at `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] };
  /** A compact JWS of `claims`, valid for `ttlSeconds`. */
  sign(claims: AccessClaims, ttlSeconds: number): Promise<string>;
  /** The payload of a token this signer (or another published key) issued and that is still valid; else undefined. */
  verify(token: string): Promise<JWTPayload | undefined>;
}

const LOCK = `SELECT pg_advisory_xact_lock(hashtext('rema:admin:signing-key'))`;

/**
 * Loads the current signing key from `admin.signing_keys`, creating it on first start. Every
 * instance of the admin service signs with the same key, so a token issued by one verifies
 * on all; concurrent first starts serialise on an advisory lock and keep one key.
 *
 * The private key sits in the admin schema: whoever can read that schema can mint tokens
 * (docs/security.md). Rotation is not automated: retire a key by setting `retired_at` and
 * restart; every non-retired key stays in the JWKS so tokens it signed keep verifying.
 *
 * @example
 * const signer = await loadSigningKeys(pool);
 * const jwt = await signer.sign(claimsOf(principal), 900);
 */
export async function loadSigningKeys(pool: pg.Pool): Promise<TokenSigner> {
  const rows = await withTransaction(pool, async (client) => {
    await client.query(LOCK);
    const existing = await client.query<{ kid: string; public_jwk: JWK; private_jwk: JWK }>(
      `SELECT kid, public_jwk, private_jwk FROM admin.signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid`,
    );
    if (existing.rows.length > 0) return existing.rows;
    const { privateKey, publicKey } = await generateKeyPair(JWT_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await client.query(`INSERT INTO admin.signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4)`, [kid, JWT_ALG, publicJwk, privateJwk]);
    return [{ kid, public_jwk: publicJwk, private_jwk: privateJwk }];
  });
  const current = rows[0];
  const privateKey = await importJWK(current.private_jwk, JWT_ALG);
  const keys: JWK[] = rows.map((r) => ({ ...r.public_jwk, kid: r.kid, alg: JWT_ALG, use: 'sig' }));
  const keySet = createLocalJWKSet({ keys });
  return {
    kid: current.kid,
    jwks: () => ({ keys: keys.map((k) => ({ ...k })) }),
    async sign(claims, ttlSeconds) {
      // One clock reading for iat, iat_ms and exp: iat_ms must fall within the second of iat.
      const now = Date.now();
      const iat = Math.floor(now / 1000);
      return new SignJWT({ ...claims, iat_ms: now })
        .setProtectedHeader({ alg: JWT_ALG, kid: current.kid, typ: 'JWT' })
        .setIssuer(JWT_ISSUER)
        .setAudience(JWT_AUDIENCE)
        .setSubject(claims.sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keySet, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, algorithms: [JWT_ALG], requiredClaims: ['exp', 'iat', 'sub'] });
        return payload;
      } catch {
        return undefined;
      }
    },
  };
}
