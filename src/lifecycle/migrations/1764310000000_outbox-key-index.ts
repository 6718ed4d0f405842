import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The ack relay looks up an asset's other acknowledged versions in the outbox (the highest
 * one wins); the outbox keeps its relayed rows, so that lookup needs an index by key.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`CREATE INDEX lifecycle_outbox_topic_key_idx ON lifecycle.outbox (topic, key, id)`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP INDEX lifecycle.lifecycle_outbox_topic_key_idx`);
}
