/**
 * The console ships built (console/dist is committed, so a fresh clone's `npm start` serves it)
 * and its API types are generated from the server's own OpenAPI document: these tests fail
 * when either is missing or when a route changed without `npm run console:api`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleDir, openApiSpecOf, renderApiTypes, specFile, specText, typesFile, withScratchDatabase } from '../../console/scripts/api-spec.ts';
import { buildServer } from '../../src/server.ts';

describe('the console build', () => {
  it('is committed in console/dist with its bundle', () => {
    const dist = path.join(consoleDir, 'dist');
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const scripts = [...index.matchAll(/src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
    expect(scripts.length, 'index.html loads a bundle').toBeGreaterThan(0);
    for (const s of scripts) expect(existsSync(path.join(dist, s)), `${s} exists`).toBe(true);
    expect(readdirSync(path.join(dist, 'assets')).some((f) => f.endsWith('.css'))).toBe(true);
  });

  it('type-checks against the generated API types (tsc -p console)', () => {
    const tsc = path.join(consoleDir, '..', 'node_modules', 'typescript', 'bin', 'tsc');
    expect(() => execFileSync(process.execPath, [tsc, '-p', consoleDir], { stdio: 'pipe' })).not.toThrow();
  }, 120_000);

  it('has API types generated from the current /openapi.json (run `npm run console:api` when this fails)', async () => {
    const spec = await withScratchDatabase(openApiSpecOf);
    expect(readFileSync(specFile, 'utf8'), 'console/src/api/openapi.json').toBe(specText(spec));
    expect(readFileSync(typesFile, 'utf8'), 'console/src/api/schema.d.ts').toBe(await renderApiTypes(spec));
  }, 60_000);

  it('is served by rema at / with client routes falling back to index.html, never for the API', async () => {
    await withScratchDatabase(async (databaseUrl) => {
      const server = await buildServer({ databaseUrl });
      try {
        const html = { accept: 'text/html,application/xhtml+xml' };
        const root = await server.app.inject({ url: '/', headers: html });
        expect(root.statusCode).toBe(200);
        expect(root.body).toContain('<div id="root">');
        const page = await server.app.inject({ url: '/sites/some-id?tab=wiring', headers: html });
        expect(page.statusCode).toBe(200);
        expect(page.body).toBe(root.body);
        const bundle = /src="(\/assets\/[^"]+\.js)"/.exec(root.body)![1];
        const js = await server.app.inject({ url: bundle });
        expect(js.statusCode).toBe(200);
        expect(js.headers['cache-control']).toContain('immutable');
        for (const url of ['/v1/nothing-here', '/docs/nothing-here', '/.well-known/nothing', '/assets/missing.js']) {
          const res = await server.app.inject({ url, headers: html });
          expect([401, 404], url).toContain(res.statusCode); // an unauthenticated /v1 request is 401 before routing
          expect(res.headers['content-type'], url).toContain('application/problem+json');
        }
        expect((await server.app.inject({ method: 'DELETE', url: '/nothing-here' })).statusCode).toBe(404);
        expect((await server.app.inject({ url: '/openapi.json' })).json().paths['/']).toBeUndefined();
      } finally {
        await server.close();
      }
    });
  }, 60_000);
});
