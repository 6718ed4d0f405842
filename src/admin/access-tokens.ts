import { claimsOf } from '../auth/jwt-claims.ts';
import type { RoleBinding } from '../auth/principal.ts';
import type { TokenSigner } from './signing-keys.ts';

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** A user's access JWT: who they are and their bindings, for `ttlSeconds`. */
export async function issueUserToken(signer: TokenSigner, user: { id: string; name: string; orgId: string; roles: RoleBinding[] }, ttlSeconds: number): Promise<IssuedAccessToken> {
  const accessToken = await signer.sign(claimsOf({ kind: 'user', id: user.id, name: user.name, orgId: user.orgId, bindings: user.roles }), ttlSeconds);
  return { accessToken, tokenType: 'Bearer', expiresIn: ttlSeconds };
}

/** A service's JWT (`kind: 'service'`): may call any route, internal ones included. */
export async function issueServiceToken(signer: TokenSigner, service: string, ttlSeconds: number): Promise<IssuedAccessToken> {
  const accessToken = await signer.sign(claimsOf({ kind: 'service', id: service, name: service, orgId: null, bindings: [] }), ttlSeconds);
  return { accessToken, tokenType: 'Bearer', expiresIn: ttlSeconds };
}
