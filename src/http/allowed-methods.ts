/**
 * Tells a wrong method (405 + `Allow`) from an unknown path (404): fastify routes by method
 * first, so both arrive at the not-found handler.
 */
import type { FastifyInstance } from 'fastify';

/** Looks up the methods routed for a concrete request path (query string ignored). */
export type AllowedMethods = (url: string) => string[];

/**
 * Starts recording the methods routes are registered with (call before any route is added)
 * and returns a lookup that asks fastify's router, per method, whether `url` matches.
 */
export function trackAllowedMethods(app: FastifyInstance): AllowedMethods {
  const methods = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) methods.add(method.toUpperCase());
  });
  return (url) => {
    const path = url.split('?', 1)[0];
    return [...methods].filter((method) => app.findRoute({ method, url: path }) !== null).sort();
  };
}
