import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Catalog } from '../core/catalog/catalog.ts';
import { migrateSchema } from '../db/migrate.ts';
import { eventFeedRoutes } from '../events/feed.ts';
import type { HttpApp } from '../http/app.ts';
import { assetRoutes } from './routes/assets.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { changesetRoutes } from './routes/changesets.ts';
import { connectionRoutes } from './routes/connections.ts';
import type { ConfigDeps } from './routes/context.ts';
import { deployedRoutes } from './routes/deployed.ts';
import { siteRoutes } from './routes/sites.ts';
import { createWritePath } from './write-path.ts';

export const CONFIG_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Creates or upgrades the `config` schema. */
export function migrateConfigSchema(databaseUrl: string) {
  return migrateSchema(databaseUrl, { schema: 'config', dir: CONFIG_MIGRATIONS_DIR });
}

/**
 * The configuration service: sites, assets, cables, change sets, the catalog and the rules,
 * every write on one write path; its event feed (`/v1/internal/events/config`: every change
 * of a site, asset or cable, e.g. `config.asset.updated`).
 */
export function registerConfigService(app: HttpApp, opts: { pool: pg.Pool; catalog: Catalog; defaultOrgId: string }): ConfigDeps {
  const deps: ConfigDeps = { ...opts, writePath: createWritePath({ pool: opts.pool, catalog: opts.catalog }) };
  catalogRoutes(app, deps);
  siteRoutes(app, deps);
  assetRoutes(app, deps);
  connectionRoutes(app, deps);
  changesetRoutes(app, deps);
  deployedRoutes(app, deps);
  eventFeedRoutes(app, { service: 'config', schema: 'config', pool: opts.pool, order: 'sequenced' });
  return deps;
}
