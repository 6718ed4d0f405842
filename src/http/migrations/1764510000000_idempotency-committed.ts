import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * A claim's write can commit before its answer is stored (the instance dies in between). The
 * write path marks the claim `committed` — with the change set it made — in the write's own
 * statement, so a retry after such a crash is told the change was applied instead of running it
 * a second time.
 *
 * Each claim gets a token (`claim_id`): a request that took longer than the takeover time may
 * find its key claimed afresh by a retry, and then its mark matches nothing.
 * `http.expect_claim` makes the write fail in that case (SQLSTATE RMI01), so only one of the two
 * can apply the change.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE http.idempotency_keys DROP CONSTRAINT idempotency_keys_state_check;
    ALTER TABLE http.idempotency_keys ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('pending', 'committed', 'done'));
    ALTER TABLE http.idempotency_keys ADD COLUMN changeset_id uuid, ADD COLUMN claim_id uuid;
    CREATE FUNCTION http.expect_claim(marked bigint) RETURNS bigint
      LANGUAGE plpgsql AS $$
    BEGIN
      IF marked IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the Idempotency-Key was claimed again by a retry: this request gave way'
          USING ERRCODE = 'RMI01';
      END IF;
      RETURN marked;
    END
    $$;
  `);
}

/** Down: claims marked committed are forgotten, so a retry after a lost answer would run again. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP FUNCTION http.expect_claim(bigint);
    ALTER TABLE http.idempotency_keys DROP COLUMN changeset_id, DROP COLUMN claim_id;
    DELETE FROM http.idempotency_keys WHERE state = 'committed';
    ALTER TABLE http.idempotency_keys DROP CONSTRAINT idempotency_keys_state_check;
    ALTER TABLE http.idempotency_keys ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('pending', 'done'));
  `);
}
