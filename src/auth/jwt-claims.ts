import type { JWTPayload } from 'jose';
import type { Principal, RoleBinding } from './principal.ts';
import { isRole } from './role-bindings.ts';

/** `iss` of every rema access token. */
export const JWT_ISSUER = 'rema-admin';
/** `aud` of every rema access token: any rema service accepts it. */
export const JWT_AUDIENCE = 'rema';
/** The one signature algorithm rema issues and accepts. */
export const JWT_ALG = 'ES256';

/**
 * The private claims of a rema access token. `rb` (role bindings as `[orgId, siteId, role]`)
 * lets a service in another process authorise without asking the admin service; the admin
 * itself reloads the bindings from its tables. `iat_ms` (set by the signer) is the issue time
 * in epoch milliseconds, which `iat` rounds down to the second.
 */
export interface AccessClaims extends JWTPayload {
  sub: string;
  kind: 'user' | 'service';
  name: string;
  org: string | null;
  rb: Array<[string, string | null, RoleBinding['role']]>;
  iat_ms?: number;
}

/**
 * When a verified token was issued, in epoch ms: its `iat_ms` when that lies within the second of
 * `iat`, else the start of that second — so a cut-off (a disable) within the second of a token
 * without `iat_ms` refuses it rather than let it through. Compare with `<=`: a token issued at
 * or before a cut-off is refused.
 *
 * @example
 * if (cutOff !== null && issuedAtMs(payload) <= cutOff) return undefined;
 */
export function issuedAtMs(payload: JWTPayload): number {
  const iat = typeof payload.iat === 'number' && Number.isFinite(payload.iat) ? payload.iat : 0;
  const ms = (payload as Partial<AccessClaims>).iat_ms;
  return typeof ms === 'number' && Number.isInteger(ms) && Math.floor(ms / 1000) === Math.floor(iat) ? ms : Math.floor(iat) * 1000;
}

/** The claims that describe `p` (a user or a service; API tokens are not JWTs). */
export function claimsOf(p: Pick<Principal, 'kind' | 'id' | 'name' | 'orgId' | 'bindings'>): AccessClaims {
  if (p.kind === 'token') throw new TypeError('API tokens are opaque, not JWTs');
  return { sub: p.id, kind: p.kind, name: p.name, org: p.orgId, rb: p.bindings.map((b) => [b.orgId, b.siteId, b.role]) };
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;

/** The principal a verified token describes, or undefined when its claims are not rema's. */
export function principalFromClaims(payload: JWTPayload): Principal | undefined {
  const { sub, kind, name, org, rb } = payload as Partial<AccessClaims>;
  if (!isString(sub) || !isString(name) || (kind !== 'user' && kind !== 'service')) return undefined;
  if (org !== null && !isString(org)) return undefined;
  if (kind === 'user' && org === null) return undefined;
  const bindings: RoleBinding[] = [];
  for (const item of Array.isArray(rb) ? rb : []) {
    if (!Array.isArray(item) || !isString(item[0]) || !(item[1] === null || isString(item[1])) || !isRole(item[2])) return undefined;
    bindings.push({ orgId: item[0], siteId: item[1], role: item[2] });
  }
  return { kind, id: sub, name, orgId: org ?? null, bindings: kind === 'service' ? [] : bindings };
}
