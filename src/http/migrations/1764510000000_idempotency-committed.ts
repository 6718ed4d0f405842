import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * A claim's write can commit before its answer is stored (the instance dies in between). The
 * write path marks the claim `committed` — with the change set it made — in the write's own
 * transaction, so a retry after such a crash is told the change was applied instead of running
 * it a second time.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE http.idempotency_keys DROP CONSTRAINT idempotency_keys_state_check;
    ALTER TABLE http.idempotency_keys ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('pending', 'committed', 'done'));
    ALTER TABLE http.idempotency_keys ADD COLUMN changeset_id uuid;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE http.idempotency_keys DROP COLUMN changeset_id;
    DELETE FROM http.idempotency_keys WHERE state = 'committed';
    ALTER TABLE http.idempotency_keys DROP CONSTRAINT idempotency_keys_state_check;
    ALTER TABLE http.idempotency_keys ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('pending', 'done'));
  `);
}
