import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The ack relay claims acks for as long as the configuration service takes to record them
 * (`claimed_until`) instead of holding their rows locked in an open transaction: the call may
 * take seconds under load, and an open transaction holds one of the lifecycle service's few
 * connections all that time. A claim that outlives its instance lapses, and another relay
 * takes the acks over.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE lifecycle.outbox ADD COLUMN claimed_until timestamptz`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE lifecycle.outbox DROP COLUMN claimed_until`);
}
