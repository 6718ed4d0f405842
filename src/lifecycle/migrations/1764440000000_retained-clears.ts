import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Desired configurations that must leave the broker. A gateway receives its devices'
 * configurations as retained messages, and receives them again at every reconnect: the message
 * of an asset that was deleted, retired or moved to another gateway would configure, on the
 * old gateway, a device that is no longer there — or whatever was wired in its place.
 *
 * `assets_out_of_service`: the assets the configuration service took out of service, as its
 * events said, with its site and the site revision that did it; a deployment planned on an
 * older revision of that site is refused. `deployments.site_revision`: the revision a deployment was planned on.
 * `retained_clears`: topics (asset, site code, gateway) whose retained configuration the
 * runner is to clear with an empty retained message; `deployment_targets.cleared_at`: when the
 * configuration a sent target published was cleared (it is not cleared again).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE lifecycle.assets_out_of_service (
      asset_id      uuid PRIMARY KEY,
      site_id       uuid NOT NULL,
      how           text NOT NULL CHECK (how IN ('retired', 'deleted')),
      site_revision bigint NOT NULL,
      since         timestamptz NOT NULL DEFAULT now(),
      source        text NOT NULL
    );
    ALTER TABLE lifecycle.deployments ADD COLUMN site_revision bigint;
    ALTER TABLE lifecycle.deployment_targets ADD COLUMN cleared_at timestamptz;
    CREATE TABLE lifecycle.retained_clears (
      asset_id   uuid NOT NULL,
      site_code  text NOT NULL,
      gateway_id uuid NOT NULL,
      reason     text NOT NULL,
      queued_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (asset_id, site_code, gateway_id)
    );
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE lifecycle.deployment_targets DROP COLUMN cleared_at; ALTER TABLE lifecycle.deployments DROP COLUMN site_revision; DROP TABLE lifecycle.retained_clears; DROP TABLE lifecycle.assets_out_of_service;`);
}
