import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * `config.expect_revision(actual, expected)`: `actual`, or an error when it is not `expected`.
 * A change's write statement ends with it, so a change written without its site's lock (the
 * revision it read moved on, or the site is gone) fails inside the statement and nothing of it
 * is kept. The check has to live in the statement: the write path sends COMMIT in the same
 * round trip, before its result is read.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE FUNCTION config.expect_revision(actual bigint, expected bigint) RETURNS bigint
      LANGUAGE plpgsql AS $$
    BEGIN
      IF actual IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'site revision is %, not %: the change was written without its site''s lock', coalesce(actual::text, 'missing'), expected
          USING ERRCODE = 'P0001';
      END IF;
      RETURN actual;
    END
    $$;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP FUNCTION config.expect_revision(bigint, bigint);`);
}
