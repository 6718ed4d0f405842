/**
 * The HTTP shell every service runs in. {@link buildHttpApp} returns a fastify instance with
 * request ids, problem+json errors, strict JSON bodies, OpenAPI docs, health, readiness and
 * metrics already wired; services add their routes as plugins under `/v1`.
 */
import Fastify from 'fastify';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyServerOptions,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { ApiError } from './errors.ts';
import { handleError, installErrorHandling } from './error-handler.ts';
import { trackAllowedMethods } from './allowed-methods.ts';
import { installJsonBodyParser, MAX_JSON_DEPTH } from './json-body.ts';
import { installRequestIdEcho, requestIdOptions } from './request-id.ts';
import { installStorableTextCheck } from './storable-text-check.ts';
import { installArrayLimitCheck } from './array-limit-check.ts';
import { afterUnreadBody, installUnreadBodyDrain } from './unread-body.ts';
import { buildValidator, installClosedQueries } from './validation.ts';
import { registerOpenApi } from './openapi.ts';
import { ProblemSchema } from './problem.ts';
import { registerHealthRoutes } from './health.ts';
import type { ReadyCheck } from './health.ts';
import { registerMetrics } from './metrics.ts';

/** The fastify instance services get: schemas are TypeBox, so handlers are typed from them. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  /** fastify/pino logger options; off by default (tests), `true` for JSON logs. */
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Dependencies `/readyz` checks, e.g. `{ name: 'database', check: () => ping(pool) }`. */
  readyChecks?: ReadyCheck[];
  /** Time one readiness check may take (default 2 s). */
  readyCheckTimeoutMs?: number;
  /** Deepest object/array nesting accepted in a JSON body (default 64). */
  maxJsonDepth?: number;
  /**
   * A limit applied to every route, or `false` (default) to limit only routes that opt in
   * with `config: { rateLimit: { max, timeWindow } }` (e.g. login).
   */
  rateLimit?: false | { max: number; timeWindow: number | string };
  /** Registry `/metrics` exposes; pass one to add service metrics to it. */
  metricsRegistry?: Registry;
  /** Trust `X-Forwarded-*` from a load balancer (for client IPs in logs and rate limits). */
  trustProxy?: boolean | string;
  /**
   * Title and version of the app's OpenAPI document (`/openapi.json`, `/docs`), or `false` for
   * none (the gateway serves the merged documents of the services instead).
   */
  openapi?: { title?: string; version?: string } | false;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Builds the HTTP app. Register services on it, then `await app.ready()` or `app.listen()`.
 *
 * @example
 * const app = await buildHttpApp({ logger: true, readyChecks: [{ name: 'database', check: pingDb }] });
 * await app.register(siteRoutes, { prefix: '/v1', db });
 * await app.listen({ port: 8080, host: '0.0.0.0' });
 */
export async function buildHttpApp(opts: HttpAppOptions = {}): Promise<HttpApp> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: opts.trustProxy ?? false,
    ...requestIdOptions,
    schemaController: { compilersFactory: { buildValidator } },
    frameworkErrors: (error, request, reply) => {
      afterUnreadBody(request, reply, () => handleError(error, request, reply));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const allowedMethods = trackAllowedMethods(app);
  installClosedQueries(app);
  installRequestIdEcho(app);
  installJsonBodyParser(app, opts.maxJsonDepth ?? MAX_JSON_DEPTH);
  installStorableTextCheck(app);
  installArrayLimitCheck(app);
  installUnreadBodyDrain(app);
  installErrorHandling(app, allowedMethods);

  await app.register(rateLimit, {
    global: opts.rateLimit !== undefined && opts.rateLimit !== false,
    ...(opts.rateLimit ? opts.rateLimit : {}),
    errorResponseBuilder: (_request, context) =>
      context.ban
        ? new ApiError('FORBIDDEN', 'Too many requests; this client is temporarily banned.')
        : new ApiError('RATE_LIMITED', `Rate limit of ${context.max} requests exceeded; retry in ${context.after}.`),
  });

  if (opts.openapi === false) app.addSchema(ProblemSchema); // routes still $ref it
  else await registerOpenApi(app, opts.openapi);
  registerMetrics(app, { registry: opts.metricsRegistry });
  registerHealthRoutes(app, { readyChecks: opts.readyChecks, checkTimeoutMs: opts.readyCheckTimeoutMs });
  return app;
}
