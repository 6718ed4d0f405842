import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Desired configurations that must leave the broker. A gateway receives its devices'
 * configurations as retained messages, and receives them again at every reconnect: the message
 * of an asset that was deleted, retired or moved to another gateway would configure, on the
 * old gateway, a device that is no longer there — or whatever was wired in its place.
 *
 * `assets_out_of_service`: the assets the configuration service took out of service, as its
 * events said; a deployment created from a graph read before that is refused.
 * `retained_clears`: topics (asset, site code, gateway) whose retained configuration the
 * runner is to clear with an empty retained message.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE lifecycle.assets_out_of_service (
      asset_id uuid PRIMARY KEY,
      how      text NOT NULL CHECK (how IN ('retired', 'deleted')),
      since    timestamptz NOT NULL DEFAULT now(),
      source   text NOT NULL
    );
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
  pgm.sql(`DROP TABLE lifecycle.retained_clears; DROP TABLE lifecycle.assets_out_of_service;`);
}
