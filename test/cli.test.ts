import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAuditSchema } from '../src/audit/migrate-audit.ts';
import { createTestDatabase, type TestDatabase } from '../src/db/test-database.ts';

const REMA = fileURLToPath(new URL('../bin/rema.mjs', import.meta.url));

/** Runs `rema …` to its end: its exit code and what it printed. */
function rema(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [REMA, ...args], { env: { ...process.env, REMA_DEBUG: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, out: stdout, err: stderr });
    });
  });
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
});
afterAll(() => db?.drop());

describe('the command line', () => {
  it('says in one line why a command cannot do its work, and exits 2 (1 is "problems found")', async () => {
    const noDb = await rema(['audit', 'verify'], { DATABASE_URL: `${db.url}_missing` });
    expect(noDb.code).toBe(2);
    expect(noDb.err).toMatch(/^rema audit: database ".*_missing" does not exist\n$/);
    const badSeed = await rema(['seed', '--sites', '2', '--assets', '1', '--url', 'http://127.0.0.1:1', '--token', 'x'], {});
    expect(badSeed.code).toBe(2);
    expect(badSeed.err).not.toMatch(/\n\s+at /);
    const emptyPrefix = await rema(['seed', '--prefix', ' ', '--url', 'http://127.0.0.1:1', '--token', 'x'], {});
    expect([emptyPrefix.code, emptyPrefix.err]).toEqual([2, expect.stringContaining('--prefix is empty')]);
    const both = await rema(['validate', '--all', '--site', 'BER-01', '--url', 'http://127.0.0.1:1', '--token', 'x'], {});
    expect([both.code, both.err]).toEqual([2, expect.stringContaining('--all and --site')]);
  });

  it("refuses a site code or a site without a chain for audit verify --site, instead of calling it intact", async () => {
    const code = await rema(['audit', 'verify', '--site', 'BER-01'], { DATABASE_URL: db.url });
    expect(code.code).toBe(2);
    expect(code.err).toContain("--site takes a site's id (a uuid)");
    const none = await rema(['audit', 'verify', '--site', randomUUID().toUpperCase()], { DATABASE_URL: db.url });
    expect(none.code).toBe(2);
    expect(none.err).toContain('has no audit chain');
    const all = await rema(['audit', 'verify'], { DATABASE_URL: db.url });
    expect([all.code, all.out]).toEqual([0, '0 events in 0 chains: intact\n']);
  });
});
