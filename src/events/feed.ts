/**
 * A service's outbox, readable by other services: `GET /v1/internal/events/{service}`. Events
 * come in feed order; a consumer passes the position of the last one it handled as `after`
 * (see consumer.ts). A feed must never skip an event, also not one whose transaction took a
 * lower id but committed after a higher one was read. Two orders guarantee it:
 *
 * - `id` (the admin feed): the writers hold an advisory lock from their insert to their commit
 *   (publishAdminEvents), so ids commit in order. Fine for rare writes; it would serialise the
 *   commits of every configuration write.
 * - `sequenced` (config, lifecycle): writers insert freely; the reader gives committed,
 *   not-yet-sequenced rows the next feed positions (`feed_seq`) in a transaction of its own,
 *   one sequencer at a time ({@link sequenceOutbox}). A row's position is given only once it is
 *   visible, and later sequencers only hand out higher positions, so positions become visible
 *   in order. Writers stay fully parallel; the cost is one UPDATE per event, made by the
 *   reader. Rows of a topic in `excludeTopics` (a service's own relays, like the lifecycle's
 *   acknowledged versions) are never sequenced, so never served.
 *
 * Why not "only ids below the oldest running transaction's xmin": a transaction can take an id
 * before an older one does, so id order and transaction order differ; ordering by the writer's
 * transaction id works but needs a two-part cursor (and still stalls behind any long writer).
 */
import type pg from 'pg';
import { Type } from 'typebox';
import { principalOf, requireService } from '../auth/install-auth.ts';
import type { HttpApp } from '../http/app.ts';
import { ApiError } from '../http/errors.ts';
import { withTransaction } from '../db/tx.ts';
import { outboxRetentionFromEnv, readerRecorder, startOutboxPruner, type OutboxPruner, type PruneOwn } from './prune.ts';

/** One outbox event as the feed hands it out. */
export interface FeedEvent {
  id: number;
  topic: string;
  key: string;
  payload: unknown;
  createdAt: string;
}

export interface FeedPage {
  items: FeedEvent[];
  /**
   * The `after` of the next request: the last id returned when the page is full; else the
   * highest position the feed held when it was read (or the `after` of this request, if
   * higher), so that a reader of a filtered feed moves past the events it left out.
   */
  nextAfter: number;
}

/** Which events of a feed a reader wants (`GET /v1/internal/events/{service}?topics=…&changed=…`). */
export interface FeedFilter {
  /** Only events of these topics. */
  topics?: readonly string[];
  /** Of `*.updated` events, only those whose payload's `before` and `after` differ in this field (e.g. `status`). */
  changed?: string;
}

const FIELD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const MAX_FEED_PAGE = 500;

/** How a feed orders its outbox: see the top of this file. */
export interface OutboxOrder {
  order: 'id' | 'sequenced';
  /** Topics a `sequenced` feed leaves out (rows kept in the outbox for the service's own relays). */
  excludeTopics?: readonly string[];
}

const TOPIC = /^[a-z0-9._-]+$/;
const schemaName = (schema: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  return schema;
};

/**
 * The SQL condition of rows a sequenced feed serves, besides being committed. Literal (no
 * parameters) so that it matches the partial index `<schema>.outbox (id) WHERE feed_seq IS NULL
 * AND <this>` of the schema's migration.
 */
export function servedTopicsSql(excludeTopics: readonly string[] = []): string {
  for (const t of excludeTopics) if (!TOPIC.test(t)) throw new Error(`invalid topic: ${t}`);
  return excludeTopics.map((t) => ` AND topic <> '${t}'`).join('');
}

/**
 * Gives the committed rows of `<schema>.outbox` that have no feed position yet the next ones,
 * in id order, at most `batch` of them, in a transaction of its own. One sequencer at a time:
 * another one running means this call does nothing (the other gives the positions).
 *
 * @returns how many rows got a position.
 */
export async function sequenceOutbox(pool: pg.Pool, schema: string, opts: { excludeTopics?: readonly string[]; batch?: number } = {}): Promise<number> {
  const table = `${schemaName(schema)}.outbox`;
  const served = servedTopicsSql(opts.excludeTopics);
  // withTransaction listens for the connection failing while checked out (PostgreSQL
  // restarting, an administrator terminating backends): without a listener that 'error'
  // event would end the process.
  return withTransaction(pool, async (client) => {
    const { rows: lock } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('rema:' || $1::text || ':outbox-feed')) AS ok`, [schema]);
    if (!lock[0].ok) return 0;
    // Each statement reads what is committed when it starts: rows of transactions still running
    // are not seen, and get their positions in a later round — after these.
    const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${table} WHERE feed_seq IS NULL${served} ORDER BY id LIMIT $1`, [opts.batch ?? 1000]);
    if (rows.length > 0) {
      await client.query(
        `UPDATE ${table} o SET feed_seq = m.top + x.ord
           FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, ord), (SELECT coalesce(max(feed_seq), 0) AS top FROM ${table}) m
          WHERE o.id = x.id`,
        [rows.map((r) => r.id)],
      );
    }
    return rows.length;
  });
}

/**
 * Reads events of `<schema>.outbox` after position `after` (and, when given, created at or
 * after `since`), oldest first. A sequenced feed first gives positions to what committed since
 * the last read; its events' `id` is that position.
 *
 * @example
 * const page = await readOutbox(pool, 'admin', { after: 0, limit: 100 });
 * const events = await readOutbox(pool, 'config', { after: 0, limit: 100 }, { order: 'sequenced' });
 */
export async function readOutbox(
  pool: pg.Pool,
  schema: string,
  q: { after: number; limit: number; since?: string } & FeedFilter,
  order: OutboxOrder = { order: 'id' },
): Promise<FeedPage> {
  const table = `${schemaName(schema)}.outbox`;
  const limit = Math.min(q.limit, MAX_FEED_PAGE);
  if (q.changed !== undefined && !FIELD.test(q.changed)) throw new ApiError('BAD_REQUEST', `changed=${q.changed} is not a field name: letters, digits and underscores, starting with a letter.`);
  let position = 'id';
  if (order.order === 'sequenced') {
    // Sequence what the page may need (a backlog is worked off a few batches per read).
    for (let round = 0; round < 5; round++) if ((await sequenceOutbox(pool, schema, { excludeTopics: order.excludeTopics })) < 1000) break;
    position = 'feed_seq';
  }
  // One statement, so one snapshot: the page and the highest position it could have reached.
  // Positions become visible in order (see the top of this file), so every event up to `top`
  // that the filter lets through is on a page that is not full.
  const { rows } = await pool.query<{ top: number; id: number | null; topic: string; key: string; payload: unknown; created_at: Date }>(
    `WITH page AS (
       SELECT ${position} AS id, topic, key, payload, created_at FROM ${table}
        WHERE ${position} > $1 AND ($2::timestamptz IS NULL OR created_at >= $2)
          AND ($4::text[] IS NULL OR topic = ANY($4))
          AND ($5::text IS NULL OR topic NOT LIKE '%.updated' OR payload->'before'->$5 IS DISTINCT FROM payload->'after'->$5)
        ORDER BY ${position} LIMIT $3)
     SELECT (SELECT coalesce(max(${position}), 0) FROM ${table}) AS top, page.* FROM (SELECT) AS one LEFT JOIN page ON true ORDER BY page.id`,
    [q.after, q.since ?? null, limit, q.topics ? [...q.topics] : null, q.changed ?? null],
  );
  const items = rows
    .filter((r) => r.id !== null)
    .map((r) => ({ id: r.id as number, topic: r.topic, key: r.key, payload: r.payload, createdAt: r.created_at.toISOString() }));
  const nextAfter = items.length === limit ? items[items.length - 1].id : Math.max(q.after, Number(rows[0]?.top ?? 0));
  return { items, nextAfter };
}

const FeedEventSchema = Type.Object({
  id: Type.Integer(),
  topic: Type.String(),
  key: Type.String(),
  payload: Type.Unknown(),
  createdAt: Type.String({ format: 'date-time' }),
});

/**
 * Registers `GET /v1/internal/events/{service}` over `<schema>.outbox`, for service
 * principals only (403 for users and API tokens); records how far each reader has read
 * (`<schema>.feed_readers`) and, while the app runs, prunes the outbox of what every reader has
 * read and the retention lets go (src/events/prune.ts).
 *
 * @example
 * eventFeedRoutes(app, { service: 'admin', schema: 'admin', pool });
 */
export function eventFeedRoutes(
  app: HttpApp,
  opts: { service: string; schema: string; pool: pg.Pool; retentionMs?: number; pruneIntervalMs?: number; pruneOwn?: PruneOwn } & Partial<OutboxOrder>,
): void {
  const order: OutboxOrder = { order: opts.order ?? 'id', excludeTopics: opts.excludeTopics };
  const record = readerRecorder(opts.pool, schemaName(opts.schema));
  const retentionMs = opts.retentionMs ?? outboxRetentionFromEnv();
  let pruner: OutboxPruner | undefined;
  app.addHook('onReady', async () => {
    pruner = startOutboxPruner({ pool: opts.pool, schema: opts.schema, order, retentionMs, intervalMs: opts.pruneIntervalMs, pruneOwn: opts.pruneOwn, log: app.log });
  });
  app.addHook('onClose', async () => pruner?.stop());
  app.get(
    `/v1/internal/events/${opts.service}`,
    {
      schema: {
        tags: ['internal'],
        summary: `Events of the ${opts.service} service's outbox, oldest first (service principals only)`,
        querystring: Type.Object({
          after: Type.Integer({ minimum: 0, default: 0, description: 'The `nextAfter` of the last page you handled (0 at first)' }),
          limit: Type.Integer({ minimum: 1, maximum: MAX_FEED_PAGE, default: 100 }),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events created at or after this time' })),
          topics: Type.Optional(
            Type.String({ pattern: '^[a-z0-9._-]+(,[a-z0-9._-]+){0,19}$', maxLength: 2000, description: 'Only events of these topics (comma-separated, at most 20)' }),
          ),
          changed: Type.Optional(
            Type.String({ pattern: FIELD.source, description: "Of `*.updated` events, only those whose payload's `before` and `after` differ in this field (e.g. `status`)" }),
          ),
        }),
        response: { 200: Type.Object({ items: Type.Array(FeedEventSchema), nextAfter: Type.Integer() }) },
      },
    },
    async (request) => {
      requireService(request);
      const { topics, ...query } = request.query;
      const page = await readOutbox(opts.pool, opts.schema, { ...query, topics: topics?.split(',') }, order);
      // Everything up to `after` is handled: the outbox may let it go once old enough. The page
      // does not wait on that bookkeeping, nor fail with it (the reader's older position stands).
      record(principalOf(request).id, request.query.after).catch((err: unknown) => request.log.warn({ err }, 'feed reader position not recorded'));
      return page;
    },
  );
}
