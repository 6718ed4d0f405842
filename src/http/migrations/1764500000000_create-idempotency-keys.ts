import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Responses remembered for `Idempotency-Key` replays. Shared HTTP infrastructure like the audit
 * schema: every service stores the keys of the POSTs it answers here.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE http.idempotency_keys (
      owner text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      state text NOT NULL CHECK (state IN ('pending', 'done')),
      status integer,
      headers jsonb,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (owner, key)
    );
    CREATE INDEX idempotency_keys_created_idx ON http.idempotency_keys (created_at);
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP SCHEMA http CASCADE`);
}
