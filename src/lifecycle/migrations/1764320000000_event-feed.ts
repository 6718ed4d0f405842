import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Events between services:
 * - `lifecycle.event_cursors`: where the lifecycle service is in other services' event feeds
 *   (one row per consumer, e.g. `config-events`), in its own schema (`pgCursorStore` would
 *   create the same table on first use; here it is part of the schema the service owns);
 * - `feed_seq`: the position in the lifecycle event feed its reader gives each outbox row once
 *   committed (src/events/feed.ts). The acknowledged versions the ack relay keeps in the same
 *   table are not part of the feed and never get one. Rows from before were all committed:
 *   their position is their id.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE IF NOT EXISTS lifecycle.event_cursors (
      consumer text PRIMARY KEY,
      position bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE lifecycle.outbox ADD COLUMN feed_seq bigint;
    UPDATE lifecycle.outbox SET feed_seq = id WHERE topic <> 'lifecycle.deployment.acked';
    CREATE UNIQUE INDEX lifecycle_outbox_feed_seq_idx ON lifecycle.outbox (feed_seq);
    CREATE INDEX lifecycle_outbox_unsequenced_idx ON lifecycle.outbox (id) WHERE feed_seq IS NULL AND topic <> 'lifecycle.deployment.acked';
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP INDEX lifecycle.lifecycle_outbox_unsequenced_idx;
    DROP INDEX lifecycle.lifecycle_outbox_feed_seq_idx;
    ALTER TABLE lifecycle.outbox DROP COLUMN feed_seq;
    DROP TABLE lifecycle.event_cursors;
  `);
}
