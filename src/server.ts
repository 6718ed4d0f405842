import type pg from 'pg';
import { migrateAuditSchema } from './audit/migrate-audit.ts';
import { auditRoutes } from './audit/routes.ts';
import { installStaticTokenAuth } from './auth/static-token.ts';
import { registerConfigService, migrateConfigSchema } from './config/service.ts';
import type { ConfigDeps } from './config/routes/context.ts';
import { builtinCatalog } from './core/catalog/catalog.ts';
import { createPool } from './db/pool.ts';
import { buildHttpApp, type HttpApp } from './http/app.ts';

export interface ServerOptions {
  databaseUrl: string;
  /** The bearer token every `/v1` request must carry. */
  token: string;
  /** Organisation that sites belong to when a request names none. */
  defaultOrgId?: string;
  logger?: boolean;
  /** Skip migrations (when another instance or a deploy step runs them). */
  migrate?: boolean;
}

export interface Server {
  app: HttpApp;
  pool: pg.Pool;
  config: ConfigDeps;
  close(): Promise<void>;
}

export const DEFAULT_ORG_ID = '00000000-0000-4000-8000-000000000001';

/**
 * Builds rema: migrates its schemas, wires the services on one HTTP app. The caller listens
 * (or uses `app.inject()` in tests).
 *
 * @example
 *   const server = await buildServer({ databaseUrl, token: 'secret' });
 *   await server.app.listen({ port: 8080 });
 */
export async function buildServer(opts: ServerOptions): Promise<Server> {
  if (opts.migrate !== false) {
    await migrateAuditSchema(opts.databaseUrl);
    await migrateConfigSchema(opts.databaseUrl);
  }
  const pool = createPool(opts.databaseUrl);
  const app = await buildHttpApp({
    logger: opts.logger ?? false,
    readyChecks: [{ name: 'database', check: async () => void (await pool.query('SELECT 1')) }],
    openapi: { title: 'rema', version: '0.1.0' },
  });
  installStaticTokenAuth(app, opts.token);
  const config = registerConfigService(app, { pool, catalog: builtinCatalog(), defaultOrgId: opts.defaultOrgId ?? DEFAULT_ORG_ID });
  auditRoutes(app, { pool });
  return {
    app,
    pool,
    config,
    async close() {
      await app.close();
      await pool.end();
    },
  };
}
