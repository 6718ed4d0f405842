import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded.ts';

/** Where a running `rema serve` notes the URL of its embedded database. */
export const runningUrlFile = (dataDir: string) => path.join(dataDir, '.database-url');

/**
 * The database a CLI command works on: DATABASE_URL; else the embedded one of a running
 * `rema serve` (it notes its URL in the data directory); else the embedded one, started for
 * the length of the command.
 */
export async function databaseUrlForCli(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const dataDir = process.env.REMA_DATA_DIR ?? './data';
  const noted = runningUrlFile(dataDir);
  if (existsSync(noted)) {
    const url = readFileSync(noted, 'utf8').trim();
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return { url, stop: async () => {} };
    } catch {
      // the server that wrote it is gone; start the database ourselves
    }
  }
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg') });
  return { url: embedded.url, stop: embedded.stop };
}
