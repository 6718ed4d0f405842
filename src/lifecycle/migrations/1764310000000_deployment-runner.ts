import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * For the deployment runner and the ack relay:
 * - the ack relay looks up an asset's other acknowledged versions in the outbox (the highest
 *   one wins); the outbox keeps its relayed rows, so that lookup needs an index by key;
 * - one runner at a time owns a running deployment (`runner_id`), for as long as it keeps
 *   stepping it (`runner_seen_at`); another instance takes over once that goes stale.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE INDEX lifecycle_outbox_topic_key_idx ON lifecycle.outbox (topic, key, id);
    ALTER TABLE lifecycle.deployments ADD COLUMN runner_id text, ADD COLUMN runner_seen_at timestamptz;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE lifecycle.deployments DROP COLUMN runner_id, DROP COLUMN runner_seen_at;
    DROP INDEX lifecycle.lifecycle_outbox_topic_key_idx;
  `);
}
