/**
 * Keeps a service's outbox from growing without end. An event leaves the outbox once it is
 * older than the retention (`REMA_OUTBOX_RETENTION_HOURS`, 7 days by default) **and** every
 * reader of the feed has read past it: the feed records, per reader (the service principal that
 * asks), the `after` of its last request in `<schema>.feed_readers`. A reader that stops for
 * longer than the retention keeps its events until it comes back; one that is gone for good
 * keeps them until its row is deleted (docs/operations.md). Rows a sequenced feed does not serve
 * (a service's own relays, `excludeTopics`: the lifecycle service looks up the acks it relayed
 * there, to record a repeated late ack once) are left to the service's own `pruneOwn`; rows not
 * yet given a feed position never go, nor does the newest event.
 */
import type pg from 'pg';
import type { OutboxOrder } from './feed.ts';

const HOUR_MS = 3_600_000;
/** Rows deleted per statement; a round repeats until a statement deletes fewer. */
const PRUNE_BATCH = 5000;

/** The retention of `REMA_OUTBOX_RETENTION_HOURS` (default 168: 7 days), in ms. */
export function outboxRetentionFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.REMA_OUTBOX_RETENTION_HOURS;
  if (raw === undefined || raw === '') return 168 * HOUR_MS;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours < 1) throw new Error(`REMA_OUTBOX_RETENTION_HOURS must be a number of hours, at least 1 (got "${raw}")`);
  return hours * HOUR_MS;
}

/**
 * How far `reader` has read the feed of `schema`: every event up to `position`, as of its request
 * at `at` — a record of an earlier request that lands later (another instance) changes nothing.
 */
export async function recordReader(pool: pg.Pool, schema: string, reader: string, position: number, at = new Date()): Promise<void> {
  await pool.query(
    `INSERT INTO ${schema}.feed_readers (reader, position, seen_at) VALUES ($1, $2, $3)
     ON CONFLICT (reader) DO UPDATE SET position = EXCLUDED.position, seen_at = EXCLUDED.seen_at
      WHERE feed_readers.seen_at <= EXCLUDED.seen_at`,
    [reader, position, at],
  );
}

/**
 * Records readers' positions at most every `everyMs` per reader (and whenever one moves back),
 * so that a reader polling every second does not write a row every second.
 */
export function readerRecorder(pool: pg.Pool, schema: string, everyMs = 10_000) {
  const last = new Map<string, { position: number; at: number }>();
  return async (reader: string, position: number) => {
    const seen = last.get(reader);
    const now = Date.now();
    if (seen && seen.position === position && now - seen.at < 6 * everyMs) return;
    if (seen && position > seen.position && now - seen.at < everyMs) return;
    last.set(reader, { position, at: now });
    await recordReader(pool, schema, reader, position, new Date(now));
  };
}

/**
 * Deletes what may go from `<schema>.outbox` (see the top of this file), in statements of
 * {@link PRUNE_BATCH} rows.
 *
 * @returns how many rows were deleted.
 */
export async function pruneOutbox(pool: pg.Pool, schema: string, order: OutboxOrder, retentionMs: number): Promise<number> {
  const table = `${schema}.outbox`;
  const position = order.order === 'sequenced' ? 'feed_seq' : 'id';
  const cutoff = new Date(Date.now() - retentionMs);
  // Every reader's position bounds it; with no reader, the retention alone. The last event
  // stays: the next feed positions are given on from the highest one (sequenceOutbox).
  const floor = `(SELECT coalesce(min(position), 9223372036854775807) FROM ${schema}.feed_readers)`;
  let deleted = 0;
  // Each statement commits on its own; two instances pruning at once only wait for each other's rows.
  for (;;) {
    // In feed order, which is about the order of creation: a batch that reaches events younger
    // than the retention deletes fewer than it read, and the round ends there.
    const { rows } = await pool.query<{ read: number; gone: number }>(
      `WITH batch AS (SELECT id, created_at FROM ${table}
                       WHERE ${position} <= ${floor} AND ${position} < (SELECT max(${position}) FROM ${table})
                       ORDER BY ${position} LIMIT ${PRUNE_BATCH}),
            gone AS (DELETE FROM ${table} o USING batch b WHERE o.id = b.id AND b.created_at < $1 RETURNING 1)
       SELECT (SELECT count(*) FROM batch)::int AS read, (SELECT count(*) FROM gone)::int AS gone`,
      [cutoff],
    );
    deleted += rows[0].gone;
    if (rows[0].read < PRUNE_BATCH || rows[0].gone < rows[0].read) break;
  }
  return deleted;
}

/**
 * Readers of `<schema>`'s feed not seen for longer than `retentionMs`: each holds back the
 * outbox's pruning at its position until it reads again or its row is deleted.
 */
export async function absentReaders(pool: pg.Pool, schema: string, retentionMs: number): Promise<Array<{ reader: string; position: number; seenAt: Date }>> {
  const { rows } = await pool.query<{ reader: string; position: string; seen_at: Date }>(
    `SELECT reader, position, seen_at FROM ${schema}.feed_readers WHERE seen_at < $1 ORDER BY seen_at`,
    [new Date(Date.now() - retentionMs)],
  );
  return rows.map((r) => ({ reader: r.reader, position: Number(r.position), seenAt: r.seen_at }));
}

/** Prunes what a service keeps for itself beside its feed (the rows of `excludeTopics`); resolves with the rows deleted. */
export type PruneOwn = (pool: pg.Pool, retentionMs: number) => Promise<number>;

export interface OutboxPruner {
  /** One round now (tests, operators); resolves with the rows deleted. */
  pruneNow(): Promise<number>;
  stop(): void;
}

/**
 * Prunes `<schema>.outbox` every `intervalMs` (default 10 minutes; the first round one interval
 * after start). A failed round is logged and tried again at the next.
 */
export function startOutboxPruner(opts: {
  pool: pg.Pool;
  schema: string;
  order: OutboxOrder;
  retentionMs: number;
  intervalMs?: number;
  /** Run after the feed's pruning, in the same round. */
  pruneOwn?: PruneOwn;
  log: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}): OutboxPruner {
  // The service's own rows are pruned even when the feed's pruning failed, and the other way round.
  const pruneNow = async () => {
    let deleted = 0;
    let failure: { err: unknown } | undefined;
    for (const step of [() => pruneOutbox(opts.pool, opts.schema, opts.order, opts.retentionMs), () => opts.pruneOwn?.(opts.pool, opts.retentionMs) ?? 0]) {
      try {
        deleted += await step();
      } catch (err) {
        failure ??= { err };
      }
    }
    // A reader gone for good holds the outbox back for ever: say so, every round, until its row goes.
    const absent = await absentReaders(opts.pool, opts.schema, opts.retentionMs).catch(() => []);
    if (absent.length > 0) {
      opts.log.warn(
        { schema: opts.schema, readers: absent.map((r) => ({ reader: r.reader, position: r.position, seenAt: r.seenAt.toISOString() })) },
        `feed readers not seen for longer than the outbox retention hold back its pruning; if one is gone for good: DELETE FROM ${opts.schema}.feed_readers WHERE reader = '<reader>' (docs/operations.md, "Outbox retention")`,
      );
    }
    if (failure) throw failure.err;
    return deleted;
  };
  // A round still running when the next is due (a large backlog, a slow database) is not joined by another.
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pruneNow().finally(() => (running = false)).then(
      (n) => {
        if (n > 0) opts.log.info?.({ schema: opts.schema, deleted: n }, 'outbox pruned');
      },
      (err: unknown) => opts.log.warn({ err, schema: opts.schema }, 'pruning the outbox failed; retrying at the next round'),
    );
  }, opts.intervalMs ?? 600_000);
  timer.unref();
  return { pruneNow, stop: () => clearInterval(timer) };
}
