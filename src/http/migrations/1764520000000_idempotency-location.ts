import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * POSTs that make something other than a change set — a deployment, a device, a user, a token —
 * mark their claim `committed` in their own transaction too, with where the thing they made
 * lives (`location`, e.g. `/v1/deployments/<id>`): a retry after an answer lost to a crash is
 * told where to find it (409 IDEMPOTENCY_KEY_COMMITTED with `Content-Location`) instead of
 * making a second one.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE http.idempotency_keys ADD COLUMN location text`);
}

/** Down: the location is forgotten; a retry is still told the request was applied. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE http.idempotency_keys DROP COLUMN location`);
}
