import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/types.ts';
import { ApiError } from '../http/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by authentication before any handler runs. */
    actor: AuditActor;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token authentication with one operator token, for a deployment that has no user
 * directory yet. Every `/v1` request must carry it; the token is recorded as the actor.
 */
export function installStaticTokenAuth(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  const actor: AuditActor = { type: 'token', id: `token:${expected.toString('hex').slice(0, 12)}`, name: 'operator token' };
  app.decorateRequest('actor', null as unknown as AuditActor);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new ApiError('UNAUTHENTICATED', 'Send the API token as "Authorization: Bearer <token>"; rema serve prints it at start.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="rema"' },
      });
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      throw new ApiError('UNAUTHENTICATED', 'The bearer token is not valid.', { headers: { 'WWW-Authenticate': 'Bearer realm="rema", error="invalid_token"' } });
    }
    request.actor = actor;
  });
}
