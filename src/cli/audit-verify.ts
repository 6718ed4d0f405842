import { verifyAuditChains } from '../audit/verify.ts';
import { createPool } from '../db/pool.ts';
import { databaseUrlForCli } from './database-url.ts';

/** `rema audit verify`: exit code 0 when every chain is intact, 1 otherwise. */
export async function auditVerifyCommand(opts: { site?: string }): Promise<number> {
  const { url, stop } = await databaseUrlForCli();
  const pool = createPool(url);
  try {
    const result = await verifyAuditChains(pool, opts.site ? { scope: `site:${opts.site}` } : {});
    console.log(`${result.events} events in ${result.scopes} chains: ${result.ok ? 'intact' : `${result.problems.length} problem(s)`}`);
    for (const p of result.problems) console.log(`  ${p.scope} #${p.seq} ${p.problem}: ${p.detail}`);
    return result.ok ? 0 : 1;
  } finally {
    await pool.end();
    await stop();
  }
}
