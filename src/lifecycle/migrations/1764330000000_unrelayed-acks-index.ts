import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The runner asks, at every step of a deployment, whether acknowledged versions of it still
 * wait to be recorded by the configuration service; during a large rollout thousands of acks
 * of other deployments wait at once. An index of the unrelayed acks by deployment answers
 * that without reading them all.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE INDEX lifecycle_outbox_unrelayed_acks_idx ON lifecycle.outbox ((payload->>'deploymentId'))
      WHERE published_at IS NULL AND topic = 'lifecycle.deployment.acked';
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP INDEX lifecycle.lifecycle_outbox_unrelayed_acks_idx`);
}
