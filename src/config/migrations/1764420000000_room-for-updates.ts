import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * Room on each page for a row's next version. Every configuration write updates its asset's row
 * and its site's row; PostgreSQL can keep the new version on the same page, with no new entry in
 * any of the table's indexes (a "HOT" update), only when the page has room for it. Filled to
 * 100 % as by default, an asset's page has none after a seed, so its first update writes the row
 * to another page and a new entry into each of config.assets' six indexes — six random pages of
 * indexes that grow with the fleet. With a fill factor of 80 the first update finds room, and
 * pruning keeps it (a page is pruned once less than a fifth of it is free). Sites are few and
 * updated by every write to them: half of each page is left free.
 *
 * The setting applies to pages written from now on; a database filled before it keeps its full
 * pages until they are rewritten (`VACUUM FULL config.assets` in a maintenance window, or as rows
 * move on their own). docs/operations.md says so.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE config.assets SET (fillfactor = 80);
    ALTER TABLE config.sites SET (fillfactor = 50);
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE config.assets RESET (fillfactor);
    ALTER TABLE config.sites RESET (fillfactor);
  `);
}
