/**
 * The public entry point when the services run apart: one address, one API. It routes each
 * `/v1/*` request by the route table (route-table.ts) to its service and streams the request
 * and the response through (@fastify/reply-from over undici); keeps or makes the
 * `X-Request-Id` and hands it on, so the services' audit events carry the caller's id; merges
 * the services' OpenAPI documents at `/openapi.json` and `/docs`; and is ready (`/readyz`)
 * when every service is. It holds no state: run as many as needed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import replyFrom from '@fastify/reply-from';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { buildHttpApp, DEFAULT_BODY_LIMIT, type HttpApp } from '../http/app.ts';
import { ApiError } from '../http/errors.ts';
import { REQUEST_ID_HEADER } from '../http/request-id.ts';
import { SERVICE_NAMES, type ServiceName } from '../services.ts';
import { mergeOpenApi, type ServiceDocument } from './openapi-merge.ts';
import { routeOf } from './route-table.ts';

export interface GatewayOptions {
  /** Base URL of each service, e.g. `{ config: 'http://config:8081', … }`. */
  upstreams: Record<ServiceName, string>;
  /** fastify/pino logger options (off by default). */
  logger?: FastifyServerOptions['logger'];
  /** Trust `X-Forwarded-For` from a load balancer in front (fastify's `trustProxy`). */
  trustProxy?: boolean | string;
  /** Time a service has to answer with its headers (default 30 s) → 503 after it. */
  timeoutMs?: number;
  /** How long a merged OpenAPI document is reused (default 10 s). */
  openApiCacheMs?: number;
  /** Largest request body passed on, by its Content-Length (default: the services' 1 MiB). */
  bodyLimit?: number;
}

/**
 * Builds the gateway app; the caller listens.
 *
 * @example
 * const gateway = await buildGateway({ upstreams: { config: 'http://127.0.0.1:8081', lifecycle: 'http://127.0.0.1:8082', admin: 'http://127.0.0.1:8083' } });
 * await gateway.listen({ port: 8080 });
 */
export async function buildGateway(opts: GatewayOptions): Promise<HttpApp> {
  const upstreams = Object.fromEntries(SERVICE_NAMES.map((s) => [s, new URL(opts.upstreams[s]).origin])) as Record<ServiceName, string>;
  const app = await buildHttpApp({
    logger: opts.logger ?? false,
    trustProxy: opts.trustProxy,
    openapi: false,
    readyChecks: SERVICE_NAMES.map((s) => ({ name: s, check: () => upstreamReady(upstreams[s]) })),
    readyCheckTimeoutMs: 3000,
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  await app.register(replyFrom, { undici: { headersTimeout: timeoutMs, bodyTimeout: 5 * 60_000, connections: 128 } });

  const docs = openApiSource(upstreams, opts.openApiCacheMs ?? 10_000, app.log);
  app.get('/openapi.json', { schema: { hide: true } }, async () => docs.get());
  let current: object = {};
  await app.register(swagger, { mode: 'static', specification: { document: { openapi: '3.1.0', info: { title: 'rema', version: '0.1.0' }, paths: {} } } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The UI reads ./json; give it the merged document of the moment.
    uiHooks: {
      onRequest: async (request) => {
        if (/\/(json|yaml)$/.test(request.url.split('?', 1)[0])) current = await docs.get();
      },
    },
    transformSpecification: () => current,
    transformSpecificationClone: false,
  });

  await app.register(async (proxy) => {
    // Bodies go through as streams, unparsed: the service checks them.
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
    const forward = (request: FastifyRequest, reply: FastifyReply) => {
      const route = routeOf(request.url.split('?', 1)[0]);
      if (route.kind !== 'service') throw new ApiError('NOT_FOUND', `Route ${request.method}:${request.url.split('?', 1)[0]} not found`);
      // A service answers a body over its limit before reading it and drops the connection; say
      // so here instead of streaming it there. (The unread body ends this client connection.)
      if (Number(request.headers['content-length'] ?? 0) > bodyLimit) {
        reply.header('connection', 'close');
        throw new ApiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${bodyLimit} bytes.`);
      }
      const service = route.service;
      return reply.from(`${upstreams[service]}${request.url}`, {
        rewriteRequestHeaders: (_req, headers) => forwardedHeaders(request, headers),
        // The service's hop-by-hop headers are of the gateway's connection to it, not the client's.
        rewriteHeaders: (headers) => withoutHopHeaders(headers),
        onError: (r, { error }) => {
          request.log.warn({ err: error, service }, 'upstream request failed');
          // The request body may be half sent: do not reuse this client connection.
          r.header('connection', 'close');
          r.send(new ApiError('SERVICE_UNAVAILABLE', `The ${service} service did not answer; retry shortly.`, { headers: { 'retry-after': '2' } }));
        },
      });
    };
    proxy.all('/v1/*', forward);
    proxy.all('/.well-known/*', forward);
  });
  return app;
}

/**
 * Headers of one hop (RFC 9110 7.6.1), and `expect`, which the gateway has already answered: a
 * proxy does not pass them on (the HTTP client under `reply.from` refuses a request that carries
 * them, which a client sending `Expect: 100-continue` would otherwise get as a 503).
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect'];

/** `headers` without those of one hop: {@link HOP_BY_HOP} and those their `Connection` names. */
function withoutHopHeaders<H extends Record<string, unknown>>(incoming: H): H {
  const headers: Record<string, unknown> = { ...incoming };
  const named = String(incoming.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) delete headers[name];
  return headers as H;
}

/**
 * The headers a service gets: the client's, without those of this hop (and those `Connection`
 * names), with the request id the gateway settled on and the proxy headers (`X-Forwarded-For`
 * extended by the client's address, proto and host).
 */
function forwardedHeaders(request: FastifyRequest, incoming: IncomingHttpHeaders): IncomingHttpHeaders {
  const headers = withoutHopHeaders(incoming);
  const peer = request.raw.socket.remoteAddress ?? '';
  const prior = headers['x-forwarded-for'];
  return {
    ...headers,
    [REQUEST_ID_HEADER]: String(request.id),
    'x-forwarded-for': prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${peer}` : peer,
    'x-forwarded-proto': headers['x-forwarded-proto'] ?? request.protocol,
    'x-forwarded-host': headers['x-forwarded-host'] ?? request.headers.host ?? '',
  };
}

/** A service is ready when its own `/readyz` says so (database, broker). */
async function upstreamReady(base: string): Promise<void> {
  const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2500) });
  if (!res.ok) throw new Error(`${base}/readyz answered ${res.status}`);
}

/** The merged OpenAPI document, fetched from every service and reused for `cacheMs`; 503 while a service cannot say. */
function openApiSource(upstreams: Record<ServiceName, string>, cacheMs: number, log: HttpApp['log']) {
  let cached: { document: object; until: number } | undefined;
  let pending: Promise<object> | undefined;
  const load = async (): Promise<object> => {
    const docs: ServiceDocument[] = [];
    const missing: string[] = [];
    await Promise.all(
      SERVICE_NAMES.map(async (service) => {
        try {
          const res = await fetch(`${upstreams[service]}/openapi.json`, { signal: AbortSignal.timeout(5000) });
          if (!res.ok) throw new Error(`answered ${res.status}`);
          docs.push({ service, document: (await res.json()) as Record<string, unknown> });
        } catch (err) {
          log.warn({ err, service }, 'OpenAPI document unavailable');
          missing.push(service);
        }
      }),
    );
    if (missing.length > 0) {
      throw new ApiError('SERVICE_UNAVAILABLE', `The API description of the ${missing.sort().join(', ')} service(s) is unavailable; retry shortly.`, { headers: { 'retry-after': '5' } });
    }
    docs.sort((a, b) => SERVICE_NAMES.indexOf(a.service) - SERVICE_NAMES.indexOf(b.service));
    const { document, unrouted } = mergeOpenApi(docs, { title: 'rema' });
    for (const u of unrouted) log.warn(u, 'a service documents a path the gateway routes elsewhere');
    cached = { document, until: Date.now() + cacheMs };
    return document;
  };
  return {
    get(): Promise<object> {
      if (cached && cached.until > Date.now()) return Promise.resolve(cached.document);
      pending ??= load().finally(() => (pending = undefined));
      return pending;
    },
  };
}
