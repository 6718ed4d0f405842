import { createRemoteJWKSet, jwtVerify } from 'jose';
import { memoryCursorStore, httpFeedSource, startConsumer, type EventConsumer, type FeedEvent } from '../events/consumer.ts';
import { looksLikeJwt, tokenHash, type Authenticator } from './authenticator.ts';
import { issuedAtMs, JWT_ALG, JWT_AUDIENCE, JWT_ISSUER, principalFromClaims } from './jwt-claims.ts';
import type { Principal } from './principal.ts';
import { isRole } from './role-bindings.ts';
import { ApiError } from '../http/errors.ts';

export interface RemoteAuthenticatorOptions {
  /** Base URL of the admin service, e.g. `http://admin.internal:8080`. */
  adminUrl: string;
  /** A service JWT for introspection and the event feed (see `serviceTokenClient`). */
  serviceToken: () => Promise<string>;
  fetch?: typeof fetch;
  /** How long an introspected API token is trusted (default and maximum 30 s). */
  cacheTtlMs?: number;
  /** How long an unknown API token stays unknown (default 5 s). */
  negativeCacheTtlMs?: number;
  /** How often the admin event feed is polled (default 1 s). */
  pollIntervalMs?: number;
  /** The longest lifetime of an access JWT (default 900 s): how long a cut-off must be remembered. */
  maxTokenAgeSeconds?: number;
  /** Clock skew allowed against the admin's clock (default 5 s). */
  clockToleranceSeconds?: number;
  /** Told when polling the admin feed fails (default: one warning per outage on stderr). */
  onError?: (err: unknown) => void;
}

export interface RemoteAuthenticator extends Authenticator {
  /** Applies one admin event (the consumer calls it; tests and in-process wiring may too). */
  handleEvent(event: Pick<FeedEvent, 'topic' | 'payload'>): void;
  /** Reads the admin feed up to now. */
  syncEvents(): Promise<number>;
  close(): Promise<void>;
}

/** jose's codes for a token that is bad (as opposed to a key set that could not be fetched). */
const TOKEN_ERRORS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

const unavailable = (cause: unknown) =>
  new ApiError('SERVICE_UNAVAILABLE', 'The admin service, which checks tokens, is unreachable; retry shortly.', { headers: { 'retry-after': '2' }, cause });

// An enable moves the cut-off too: a JWT a login racing with the disable issued after it stays refused.
const CUT_OFF_TOPICS = new Set(['admin.user.disabled', 'admin.user.enabled', 'admin.user.deleted', 'admin.user.roles-changed']);
const MAX_CACHE_ENTRIES = 10_000;

/**
 * The authenticator of a service that runs apart from the admin service.
 *
 * - JWTs verify against the admin's JWKS (`/.well-known/jwks.json`, fetched and cached by
 *   jose). Their claims carry the bindings; a denylist fed by the admin event feed refuses the
 *   JWTs of a user issued before they were disabled, enabled again, deleted or had their roles
 *   changed (compared at millisecond precision, `issuedAtMs`) — within one poll interval, not at
 *   the token's expiry.
 * - API tokens are introspected (`POST /v1/auth/introspect`) and the answer cached for at most
 *   30 s; `admin.token.revoked` and user events drop cached answers at once.
 *
 * On start the denylist replays the events of the last `maxTokenAgeSeconds`, so a restart does
 * not forget a recent disable.
 *
 * @example
 * const serviceToken = serviceTokenClient({ adminUrl, service: 'config', secret });
 * const auth = createRemoteAuthenticator({ adminUrl, serviceToken });
 * installAuth(app, auth);
 * app.addHook('onClose', () => auth.close());
 */
export function createRemoteAuthenticator(opts: RemoteAuthenticatorOptions): RemoteAuthenticator {
  const doFetch = opts.fetch ?? fetch;
  const cacheTtl = Math.min(opts.cacheTtlMs ?? 30_000, 30_000);
  const negativeTtl = Math.min(opts.negativeCacheTtlMs ?? 5_000, cacheTtl);
  const maxAgeMs = (opts.maxTokenAgeSeconds ?? 900) * 1000;
  const tolerance = opts.clockToleranceSeconds ?? 5;
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', opts.adminUrl), { cacheMaxAge: 600_000, cooldownDuration: 30_000 });
  /** user id → epoch ms: their JWTs issued at or before it are refused. */
  const cutOffs = new Map<string, number>();
  /**
   * Users disabled (or deleted) and not enabled since: every JWT of theirs is refused — also one
   * from a login that raced the disable and was signed after its cut-off.
   */
  const disabledUsers = new Set<string>();
  /** sha256 hex of an API token → the introspection answer and until when it holds. */
  const cache = new Map<string, { principal: Principal | undefined; until: number }>();

  function prune(now: number) {
    for (const [user, at] of cutOffs) if (at + maxAgeMs + tolerance * 1000 < now) cutOffs.delete(user);
    if (cache.size > MAX_CACHE_ENTRIES) for (const [key, entry] of cache) if (entry.until <= now || cache.size > MAX_CACHE_ENTRIES) cache.delete(key);
  }

  function dropCached(match: (p: Principal) => boolean) {
    for (const [key, entry] of cache) if (entry.principal && match(entry.principal)) cache.delete(key);
  }

  function handleEvent(event: Pick<FeedEvent, 'topic' | 'payload'>) {
    const p = (event.payload ?? {}) as { userId?: string; tokenId?: string; at?: number };
    if (CUT_OFF_TOPICS.has(event.topic) && typeof p.userId === 'string') {
      const at = typeof p.at === 'number' ? p.at : Date.now();
      cutOffs.set(p.userId, Math.max(at, cutOffs.get(p.userId) ?? 0));
      dropCached((principal) => principal.onBehalfOf?.id === p.userId);
    }
    if ((event.topic === 'admin.user.disabled' || event.topic === 'admin.user.deleted') && typeof p.userId === 'string') disabledUsers.add(p.userId);
    if (event.topic === 'admin.user.enabled' && typeof p.userId === 'string') {
      disabledUsers.delete(p.userId);
      for (const [key, entry] of cache) if (!entry.principal) cache.delete(key); // unknown tokens may be theirs
    }
    if (event.topic === 'admin.token.revoked' && typeof p.tokenId === 'string') dropCached((principal) => principal.id === p.tokenId);
    prune(Date.now());
  }

  async function fromJwt(bearer: string): Promise<Principal | undefined> {
    let payload;
    try {
      ({ payload } = await jwtVerify(bearer, jwks, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, algorithms: [JWT_ALG], clockTolerance: tolerance, requiredClaims: ['exp', 'iat', 'sub'] }));
    } catch (err) {
      // A bad token is not an error; an unreachable JWKS is (it surfaces as 503).
      if (TOKEN_ERRORS.has(String((err as { code?: unknown }).code))) return undefined;
      throw unavailable(err);
    }
    const principal = principalFromClaims(payload);
    if (!principal) return undefined;
    if (principal.kind === 'user' && disabledUsers.has(principal.id)) return undefined;
    const cutOff = principal.kind === 'user' ? cutOffs.get(principal.id) : undefined;
    if (cutOff !== undefined && issuedAtMs(payload) <= cutOff) return undefined;
    return principal;
  }

  async function fromApiToken(bearer: string): Promise<Principal | undefined> {
    const key = tokenHash(bearer).toString('hex');
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    let body: { active: boolean; principal?: Principal; expiresAt?: string | null };
    try {
      const res = await doFetch(new URL('/v1/auth/introspect', opts.adminUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${await opts.serviceToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token: bearer }),
      });
      if (!res.ok) throw new Error(`introspection answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw unavailable(err);
    }
    const principal = body.active ? checked(body.principal) : undefined;
    // Kept for the cache's time, but never past the token's expiry.
    const expiry = typeof body.expiresAt === 'string' ? Date.parse(body.expiresAt) : NaN;
    cache.set(key, { principal, until: principal ? Math.min(now + cacheTtl, Number.isNaN(expiry) ? Infinity : expiry) : now + negativeTtl });
    prune(now);
    return principal;
  }

  // While the feed is unreachable the denylist goes stale: say so once per outage.
  let failing = false;
  const onError =
    opts.onError ??
    ((err: unknown) => {
      if (!failing) console.warn(`rema: cannot read the admin event feed at ${opts.adminUrl}; disabled users' JWTs are not cut off until it is back: ${(err as Error).message}`);
      failing = true;
    });
  const feed = httpFeedSource({ baseUrl: opts.adminUrl, service: 'admin', token: opts.serviceToken, fetch: doFetch });
  let consumer: EventConsumer | undefined = startConsumer({
    source: async (q) => {
      const page = await feed(q);
      failing = false;
      return page;
    },
    cursor: memoryCursorStore(),
    since: new Date(Date.now() - maxAgeMs - tolerance * 1000),
    handler: async (event) => handleEvent(event),
    pollIntervalMs: opts.pollIntervalMs ?? 1000,
    onError,
  });

  return {
    async authenticate(bearer) {
      return looksLikeJwt(bearer) ? fromJwt(bearer) : fromApiToken(bearer);
    },
    handleEvent,
    syncEvents: () => consumer?.pollOnce() ?? Promise.resolve(0),
    async close() {
      await consumer?.stop();
      consumer = undefined;
    },
  };
}

/** An introspected principal, checked for shape (the admin service is trusted, not its bytes). */
function checked(p: Principal | undefined): Principal | undefined {
  if (!p || (p.kind !== 'token' && p.kind !== 'user' && p.kind !== 'service') || typeof p.id !== 'string' || !Array.isArray(p.bindings)) return undefined;
  if (!p.bindings.every((b) => typeof b.orgId === 'string' && (b.siteId === null || typeof b.siteId === 'string') && isRole(b.role))) return undefined;
  return { kind: p.kind, id: p.id, name: String(p.name), orgId: p.orgId ?? null, bindings: p.bindings, ...(p.onBehalfOf ? { onBehalfOf: { id: String(p.onBehalfOf.id), name: String(p.onBehalfOf.name) } } : {}) };
}
