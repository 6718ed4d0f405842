import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * `NOTIFY rema_access` on every change that can take away or alter what a credential grants:
 * a token revoked, expired earlier, re-bound or deleted; a user disabled, deleted, renamed or
 * moved; a role binding added, changed or removed — whatever statement makes it, the admin
 * API's or an operator's by hand. The notification is sent when the transaction commits (and
 * not at all if it rolls back); each instance's authenticator listens and drops what it had
 * cached (src/admin/access-cache.ts). A token's `last_used_at` alone notifies nothing.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE FUNCTION admin.notify_access_changed() RETURNS trigger
      LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('rema_access', TG_TABLE_NAME);
      RETURN NULL;
    END
    $$;

    CREATE TRIGGER api_tokens_access_changed
      AFTER UPDATE OF org_id, user_id, secret_hash, bindings, expires_at, revoked_at OR DELETE OR TRUNCATE ON admin.api_tokens
      FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_access_changed();
    CREATE TRIGGER users_access_changed
      AFTER UPDATE OF id, org_id, name, disabled, deleted_at OR DELETE OR TRUNCATE ON admin.users
      FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_access_changed();
    CREATE TRIGGER role_bindings_access_changed
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin.role_bindings
      FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_access_changed();
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP TRIGGER role_bindings_access_changed ON admin.role_bindings;
    DROP TRIGGER users_access_changed ON admin.users;
    DROP TRIGGER api_tokens_access_changed ON admin.api_tokens;
    DROP FUNCTION admin.notify_access_changed();
  `);
}
