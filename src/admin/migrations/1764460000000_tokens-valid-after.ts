import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * `admin.users.tokens_valid_after`: the user's access JWTs issued at or before it are refused,
 * also once the user is enabled again. Disabling or enabling a user through the API sets it to the
 * `at` of the `admin.user.disabled` / `…enabled` event, which the authenticators of services run
 * apart use the same way; a statement by hand that flips `disabled` without setting it gets
 * `now()` from the trigger below. A change to it notifies `rema_access` like the other columns
 * that take access away.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE admin.users ADD COLUMN tokens_valid_after timestamptz;

    CREATE FUNCTION admin.cut_off_tokens() RETURNS trigger
      LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.tokens_valid_after IS NOT DISTINCT FROM OLD.tokens_valid_after THEN
        NEW.tokens_valid_after := now();
      END IF;
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER users_cut_off_tokens
      BEFORE UPDATE OF disabled ON admin.users
      FOR EACH ROW WHEN (NEW.disabled IS DISTINCT FROM OLD.disabled) EXECUTE FUNCTION admin.cut_off_tokens();

    DROP TRIGGER users_access_changed ON admin.users;
    CREATE TRIGGER users_access_changed
      AFTER UPDATE OF id, org_id, name, disabled, deleted_at, tokens_valid_after OR DELETE OR TRUNCATE ON admin.users
      FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_access_changed();
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP TRIGGER users_access_changed ON admin.users;
    CREATE TRIGGER users_access_changed
      AFTER UPDATE OF id, org_id, name, disabled, deleted_at OR DELETE OR TRUNCATE ON admin.users
      FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_access_changed();
    DROP TRIGGER users_cut_off_tokens ON admin.users;
    DROP FUNCTION admin.cut_off_tokens();
    ALTER TABLE admin.users DROP COLUMN tokens_valid_after;
  `);
}
