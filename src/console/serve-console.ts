/**
 * Serves the web console (console/dist, built by `npm run console:build` and committed) at `/`:
 * the bundles under `/assets/`, index.html at `/`, and index.html for any other GET of a page
 * path by a browser, so the console's client-side routes survive a reload. The fallback is a
 * hook on not-found requests, not a catch-all route, so an unknown API path still answers 404 —
 * or 405 for a known path with another method — exactly as before; API, docs and operations
 * paths never fall back to the console.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the committed build lives: console/dist at the root of the package. */
export const consoleDistDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'console', 'dist');

/** Path prefixes that belong to the API and operations, never to the console. */
const NOT_CONSOLE = ['/v1', '/openapi.json', '/docs', '/healthz', '/readyz', '/metrics', '/.well-known'];

/** Whether a GET to `url` is a console page that should be answered with index.html. */
export function isConsolePage(url: string): boolean {
  const p = url.split('?', 1)[0];
  if (NOT_CONSOLE.some((prefix) => p === prefix || p.startsWith(`${prefix}/`) || p.startsWith(`${prefix}?`))) return false;
  // A path with a file extension is a missing file, not a page.
  return !/\.[A-Za-z0-9]{1,8}$/.test(p);
}

// Browsers navigating to a page ask for text/html; API clients (and curl's */*) get the 404.
const wantsHtml = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/html');

/**
 * Registers the console on `app`: static files from `distDir` and the client-route fallback.
 * Without a build it serves a one-line page at `/` that says how to make one.
 */
export async function serveConsole(app: FastifyInstance, opts: { distDir?: string } = {}): Promise<void> {
  const distDir = opts.distDir ?? consoleDistDir;
  const indexFile = path.join(distDir, 'index.html');
  if (!existsSync(indexFile)) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send('<!doctype html><title>rema</title><p>The rema console is not built: run <code>npm run console:build</code>. The API is at <a href="/docs">/docs</a>.</p>'),
    );
    return;
  }
  // Read per request (it is half a kilobyte), so a rebuild is served without a restart.
  const sendIndex = async (reply: FastifyReply) => reply.code(200).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(await readFile(indexFile));
  // Bundles have content-hashed names: cache them for good.
  const assetsDir = path.join(distDir, 'assets');
  await app.register(fastifyStatic, {
    root: assetsDir,
    prefix: '/assets/',
    // One route per file found at start (a catch-all would turn an unknown path into a 405).
    wildcard: false,
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', 'public, max-age=31536000, immutable'),
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
  // A callback hook: every request passes it, and only a GET or HEAD that no route answers needs
  // the async work.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return done();
    consolePage(request, reply).then(() => done(), done);
  });

  async function consolePage(request: FastifyRequest, reply: FastifyReply) {
    // A bundle of a rebuild made while rema runs (`npm run console:build` during development).
    const bundle = /^\/assets\/([\w.-]+)$/.exec(request.url.split('?', 1)[0]);
    if (bundle && existsSync(path.join(assetsDir, bundle[1]))) return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(bundle[1]);
    if (!isConsolePage(request.url) || !wantsHtml(request)) return;
    return sendIndex(reply);
  }
}
