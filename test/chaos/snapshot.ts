/**
 * A fingerprint of everything rema stores: per table its row count and an md5 over all rows
 * (as jsonb, in a fixed order), without the columns that move by themselves. Two equal
 * snapshots mean nothing stored changed in between.
 */
import type pg from 'pg';

/**
 * Left out, and why: the idempotency cache keeps refused answers too, on purpose (a replay of
 * the key gets the same 4xx); failed logins count towards the lockout, on purpose; the
 * consumers' positions (their own and the ones each feed records of its readers) and the
 * outbox's feed order and publication time move as the services read each other's feeds;
 * migration bookkeeping; the runner's lease of a deployment; what
 * devices report over the broker (retained state messages arrive whenever the broker — shared
 * with other tests on this machine — delivers them, not because of any request); the chain
 * heads move with audited refusals (verify checks them).
 */
const SKIPPED_TABLES = new Set(['http.idempotency_keys', 'config.idempotency_keys', 'admin.login_failures', 'lifecycle.event_cursors', 'config.feed_readers', 'lifecycle.feed_readers', 'admin.feed_readers', 'lifecycle.reported_state', 'audit.chain_heads']);
const VOLATILE_COLUMNS: Record<string, string[]> = {
  'admin.api_tokens': ['last_used_at'],
  'config.outbox': ['feed_seq', 'published_at'],
  'lifecycle.outbox': ['feed_seq', 'published_at', 'attempts', 'next_attempt_at', 'last_error'],
  'admin.outbox': ['published_at'],
  'lifecycle.deployments': ['runner_id', 'runner_seen_at'],
};

export type Snapshot = Record<string, { rows: number; md5: string }>;

/** The snapshot of every table of rema's schemas; of `audit.events` only the applied events (refusals are audited by design). */
export async function snapshot(pool: pg.Pool): Promise<Snapshot> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_schema IN ('config', 'admin', 'lifecycle', 'audit', 'http') AND table_type = 'BASE TABLE' AND table_name <> 'pgmigrations'
      ORDER BY 1`,
  );
  const out: Snapshot = {};
  for (const { name } of tables) {
    if (SKIPPED_TABLES.has(name)) continue;
    const drop = VOLATILE_COLUMNS[name] ?? [];
    const where = name === 'audit.events' ? `WHERE t.outcome = 'applied'` : '';
    const { rows } = await pool.query<{ rows: number; md5: string }>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS md5
         FROM (SELECT to_jsonb(t) - $1::text[] AS x FROM ${name} t ${where}) s`,
      [drop],
    );
    out[name] = rows[0];
  }
  return out;
}

/** The tables whose fingerprint differs, with both sides. */
export function changedTables(before: Snapshot, after: Snapshot): Record<string, { before?: Snapshot[string]; after?: Snapshot[string] }> {
  const out: Record<string, { before?: Snapshot[string]; after?: Snapshot[string] }> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[name]?.md5 !== after[name]?.md5 || before[name]?.rows !== after[name]?.rows) out[name] = { before: before[name], after: after[name] };
  }
  return out;
}
