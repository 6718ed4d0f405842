import { verifyAuditChains } from '../audit/verify.ts';
import { isUuid } from '../core/ids.ts';
import { createPool } from '../db/pool.ts';
import { databaseUrlForCli } from './database-url.ts';

/**
 * `rema audit verify`: exit code 0 when every chain is intact, 1 when one is not. A `--site` that
 * is not a site's id, or one with no chain at all, is an error (thrown: the CLI exits 2), not an
 * intact chain of no events.
 */
export async function auditVerifyCommand(opts: { site?: string }): Promise<number> {
  const site = opts.site?.trim();
  if (site !== undefined && !isUuid(site)) {
    throw new Error(`--site takes a site's id (a uuid), not "${opts.site}"; GET /v1/sites?code=<code> gives a site's id from its code`);
  }
  const { url, stop } = await databaseUrlForCli();
  const pool = createPool(url);
  try {
    const result = await verifyAuditChains(pool, site ? { scope: `site:${site.toLowerCase()}` } : {});
    if (site && result.scopes === 0) throw new Error(`site ${site.toLowerCase()} has no audit chain: no such site, or nothing was ever recorded for it`);
    console.log(`${result.events} events in ${result.scopes} chains: ${result.ok ? 'intact' : `${result.problems.length} problem(s)`}`);
    for (const p of result.problems) console.log(`  ${p.scope} #${p.seq} ${p.problem}: ${p.detail}`);
    return result.ok ? 0 : 1;
  } finally {
    await pool.end();
    await stop();
  }
}
