import type pg from 'pg';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-row.ts';
import { hashEvent } from './hash.ts';
import { visibilityCondition, type AuditVisibility } from './query.ts';

/** What verify found wrong with one event (or with the end of a chain). */
export interface AuditChainProblem {
  scope: string;
  seq: number;
  /** The event concerned; empty when the problem is an event that is missing. */
  eventId: string;
  /**
   * `hash-mismatch`: the event's content no longer hashes to its stored hash (edited row).
   * `broken-link`: its `prevHash` is not the previous event's hash (edited or swapped hash).
   * `gap`: seq does not follow the previous one (removed or injected events).
   * `head-mismatch`: the chain's last event disagrees with `audit.chain_heads` (removed tail,
   * or an event inserted past the head).
   */
  problem: 'hash-mismatch' | 'broken-link' | 'gap' | 'head-mismatch';
  /** Human-readable explanation. */
  detail: string;
}

/** Result of {@link verifyAuditChains}. */
export interface AuditVerifyResult {
  ok: boolean;
  scopes: number;
  events: number;
  problems: AuditChainProblem[];
}

/** Options for {@link verifyAuditChains}. */
export interface AuditVerifyOptions {
  /** Verify only this chain. */
  scope?: string;
  /** Verify only these chains (`scope` wins when both are given). */
  scopes?: Iterable<string> | AsyncIterable<string>;
  /** Events read per query. Defaults to 1 000. */
  batchSize?: number;
}

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * Recomputes every hash chain and reports each place it does not hold.
 *
 * Walks scope by scope and, within a scope, in `seq` order with keyset batches, so memory
 * stays flat whatever the table size and no long transaction pins old row versions. The
 * head is read before the scope's events: events appended while verify runs have a higher
 * seq than that head and are left for the next run, so live traffic causes no false alarms.
 *
 * @example
 * const result = await verifyAuditChains(pool);
 * if (!result.ok) console.table(result.problems);
 */
export async function verifyAuditChains(pool: Queryable, opts: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
  const batchSize = opts.batchSize ?? 1000;
  const result: AuditVerifyResult = { ok: true, scopes: 0, events: 0, problems: [] };
  const scopes = opts.scope !== undefined ? [opts.scope] : (opts.scopes ?? allScopes(pool));
  for await (const scope of scopes) {
    const { events, problems } = await verifyScope(pool, scope, batchSize);
    if (events > 0 || problems.length > 0) result.scopes++;
    result.events += events;
    result.problems.push(...problems);
  }
  result.ok = result.problems.length === 0;
  return result;
}

/**
 * Every scope that has a head or an event, one index probe per scope. Scopes are never
 * empty (a CHECK on audit.events), so '' sorts before all of them.
 */
async function* allScopes(pool: Queryable): AsyncGenerator<string> {
  let after = '';
  for (;;) {
    const { rows } = await pool.query<{ scope: string | null }>(
      `SELECT least(
         (SELECT min(scope) FROM audit.events WHERE scope > $1),
         (SELECT min(scope) FROM audit.chain_heads WHERE scope > $1)) AS scope`,
      [after],
    );
    const scope = rows[0]?.scope;
    if (scope === null || scope === undefined) return;
    yield scope;
    after = scope;
  }
}

async function readHead(pool: Queryable, scope: string): Promise<{ seq: number; hash: string | null } | null> {
  const { rows } = await pool.query<{ seq: number | string; hash: string | null }>(
    'SELECT seq, hash FROM audit.chain_heads WHERE scope = $1',
    [scope],
  );
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
}

async function verifyScope(
  pool: Queryable,
  scope: string,
  batchSize: number,
): Promise<{ events: number; problems: AuditChainProblem[] }> {
  const problems: AuditChainProblem[] = [];
  const head = await readHead(pool, scope);
  // Without a head, only events that existed when we looked are judged; a scope born
  // during the run is re-checked below before its missing head is reported.
  const limitSeq = head?.seq ?? Number.MAX_SAFE_INTEGER;
  let last: { seq: number; hash: string; id: string } | null = null;
  let events = 0;

  for (;;) {
    const { rows } = await pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit.events e
        WHERE e.scope = $1 AND e.seq > $2 AND e.seq <= $3
        ORDER BY e.seq LIMIT $4`,
      [scope, last?.seq ?? 0, limitSeq, batchSize],
    );
    for (const row of rows) {
      const event = rowToEvent(row);
      const expectedSeq: number = (last?.seq ?? 0) + 1;
      const at = { scope, seq: event.seq, eventId: event.id };
      if (event.seq !== expectedSeq) {
        problems.push({ ...at, problem: 'gap', detail: `expected seq ${expectedSeq}, found ${event.seq}` });
      } else if (event.prevHash !== (last?.hash ?? null)) {
        problems.push({ ...at, problem: 'broken-link', detail: 'prevHash is not the previous event’s hash' });
      }
      if (hashEvent(event.prevHash, event) !== event.hash) {
        problems.push({ ...at, problem: 'hash-mismatch', detail: 'content does not match the stored hash' });
      }
      last = { seq: event.seq, hash: event.hash, id: event.id };
      events++;
    }
    if (rows.length < batchSize) break;
  }

  const finalHead = head ?? (last ? await readHead(pool, scope) : null);
  if (!finalHead) {
    if (last) problems.push({ scope, seq: last.seq, eventId: last.id, problem: 'head-mismatch', detail: 'chain has no head' });
  } else if (head === null) {
    // The scope's first append committed while we walked it; nothing to compare yet.
  } else if (!last || last.seq !== head.seq || last.hash !== head.hash) {
    problems.push({
      scope,
      seq: head.seq,
      eventId: last?.seq === head.seq ? last.id : '',
      problem: 'head-mismatch',
      detail: last
        ? `head is #${head.seq}, chain ends at #${last.seq}${last.seq === head.seq ? ' with another hash' : ''}`
        : `head is #${head.seq} but the chain has no events`,
    });
  }
  if (head !== null) {
    // An event past the head that the head has not caught up with was not appended through the
    // chain (an append moves the head in the same transaction): it would also block the next
    // append. Appends committed during the run move the head past their events: look again
    // beyond it, until nothing lies beyond the head or an event lies beyond the head read after it.
    let known = head.seq;
    for (;;) {
      const beyond = await firstEventAfter(pool, scope, known);
      if (!beyond) break;
      const now = (await readHead(pool, scope))?.seq ?? 0;
      if (now < beyond.seq) {
        problems.push({
          scope,
          seq: beyond.seq,
          eventId: beyond.id,
          problem: 'head-mismatch',
          detail: `event #${beyond.seq} lies beyond the head #${now}: it was added without moving the head`,
        });
        break;
      }
      known = now;
    }
  }
  return { events, problems };
}

async function firstEventAfter(pool: Queryable, scope: string, seq: number): Promise<{ seq: number; id: string } | null> {
  const { rows } = await pool.query<{ seq: number | string; id: string }>('SELECT seq, id FROM audit.events WHERE scope = $1 AND seq > $2 ORDER BY seq LIMIT 1', [scope, seq]);
  return rows[0] ? { seq: Number(rows[0].seq), id: rows[0].id } : null;
}

/**
 * The chains holding events `visibleTo` may see — with `siteId`, only that site's chain —
 * plus the organisation chains of its org-wide scopes that have a head (so a chain whose every
 * event was removed is still reported). A site chain stripped of every event has no event to
 * tell its organisation: only a full verify (a service, `rema audit verify`) reports it.
 *
 * @example
 * await verifyAuditChains(pool, { scopes: await chainsVisibleTo(pool, { scopes: [{ orgId, siteId: null }], orgless: false }) });
 */
export async function chainsVisibleTo(pool: Queryable, visibleTo: AuditVisibility, siteId?: string): Promise<string[]> {
  const params: unknown[] = [];
  const bind = (value: unknown) => `$${params.push(value)}`;
  const only = siteId === undefined ? '' : ` AND e.scope = ${bind(`site:${siteId}`)}`;
  const orgChains = siteId === undefined ? visibleTo.scopes.filter((s) => s.siteId === null).map((s) => `org:${s.orgId}`) : [];
  const { rows } = await pool.query<{ scope: string }>(
    `SELECT DISTINCT e.scope FROM audit.events e WHERE ${visibilityCondition(visibleTo, bind)}${only}
     UNION SELECT scope FROM audit.chain_heads WHERE scope = ANY(${bind(orgChains)}::text[])
     ORDER BY scope`,
    params,
  );
  return rows.map((r) => r.scope);
}
