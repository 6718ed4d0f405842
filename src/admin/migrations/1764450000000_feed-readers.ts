import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The readers of the admin event feed and how far each has read (the `after` of its last
 * request): the outbox is pruned only below every reader's position, and only of events older
 * than the retention (src/events/prune.ts).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`CREATE TABLE admin.feed_readers (reader text PRIMARY KEY, position bigint NOT NULL, seen_at timestamptz NOT NULL DEFAULT now())`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP TABLE admin.feed_readers`);
}
