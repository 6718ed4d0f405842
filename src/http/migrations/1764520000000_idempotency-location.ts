import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * POSTs that make something other than a change set — a deployment, a device, a user, a token —
 * mark their claim `committed` in their own transaction too, with where the thing they made
 * lives (`location`, e.g. `/v1/deployments/<id>`): a retry after an answer lost to a crash is
 * told where to find it (409 IDEMPOTENCY_KEY_COMMITTED with `Content-Location`) instead of
 * making a second one.
 *
 * A creation answered with `Cache-Control: no-store` (a user's generated password, a token's
 * secret) is no longer kept for replays. The answers of such creations kept before are dropped
 * here; a retry of one is told where the user, token or organisation is.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE http.idempotency_keys ADD COLUMN location text;
    UPDATE http.idempotency_keys
       SET body = NULL, location = headers->>'location', headers = headers || '{"cache-control": "no-store"}'
     WHERE state = 'done' AND status = 201 AND headers->>'location' ~ '^/v1/(users|tokens|orgs)/';
  `);
}

/** Down: the location is forgotten; a retry is still told the request was applied. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE http.idempotency_keys DROP COLUMN location`);
}
