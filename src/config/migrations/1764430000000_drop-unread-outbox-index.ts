import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Drops `config.outbox_unpublished_idx`, which nothing reads: the config outbox is served by
 * its feed (`feed_seq`, src/events/feed.ts), and `published_at` is never set on it, so the index
 * held every row and took two new entries per event — at the insert, and again when the feed's
 * sequencer gives the row its position (that update cannot be HOT: `feed_seq` is indexed).
 * The lifecycle outbox keeps its own (its acknowledgement relay reads it).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP INDEX IF EXISTS config.outbox_unpublished_idx;`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`CREATE INDEX outbox_unpublished_idx ON config.outbox (id) WHERE published_at IS NULL;`);
}
