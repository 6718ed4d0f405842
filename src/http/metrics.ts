/**
 * `GET /metrics` in the Prometheus text format: the process's default metrics plus an HTTP
 * request-duration histogram labelled by method, route pattern and status. The route label is
 * the pattern (`/v1/assets/:id`), never the raw URL, so ids cannot explode the series count;
 * requests that match no route share the label `unmatched`.
 */
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export interface MetricsOptions {
  /** Registry to expose; a fresh one per app by default, so several apps can share a process. */
  registry?: Registry;
  /** Add process/runtime default metrics (default true). */
  defaultMetrics?: boolean;
}

/**
 * Records every request's duration and registers `GET /metrics`. Returns the registry so
 * services can add their own metrics (`new Counter({ …, registers: [registry] })`).
 */
export function registerMetrics(app: FastifyInstance, options: MetricsOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  );
  return registry;
}
