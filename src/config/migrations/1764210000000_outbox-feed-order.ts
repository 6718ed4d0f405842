import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The config event feed (`GET /v1/internal/events/config`) serves events by `feed_seq`, a
 * position its reader gives each row once the row's transaction has committed (see
 * src/events/feed.ts): writers insert concurrently, in any commit order, and the feed still
 * never skips one. Rows from before this migration were all committed: their position is
 * their id.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE config.outbox ADD COLUMN feed_seq bigint;
    UPDATE config.outbox SET feed_seq = id;
    CREATE UNIQUE INDEX outbox_feed_seq_idx ON config.outbox (feed_seq);
    CREATE INDEX outbox_unsequenced_idx ON config.outbox (id) WHERE feed_seq IS NULL;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP INDEX config.outbox_unsequenced_idx;
    DROP INDEX config.outbox_feed_seq_idx;
    ALTER TABLE config.outbox DROP COLUMN feed_seq;
  `);
}
