/**
 * A service's outbox, readable by other services: `GET /v1/internal/events/{service}`. Events
 * come in id order; a consumer passes the last id it handled as `after` (see consumer.ts).
 *
 * The feed is gap-free when the outbox's writers commit ids in order — the admin service takes
 * an advisory lock before it inserts (publishAdminEvents). A service whose outbox has
 * concurrent writers must do the same, or a reader may pass an id whose transaction commits
 * later.
 */
import type pg from 'pg';
import { Type } from 'typebox';
import { requireService } from '../auth/install-auth.ts';
import type { HttpApp } from '../http/app.ts';

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
  /** The `after` of the next request: the last id returned, or the `after` of this one. */
  nextAfter: number;
}

export const MAX_FEED_PAGE = 500;

/**
 * Reads events of `<schema>.outbox` after id `after` (and, when given, created at or after
 * `since`), oldest first.
 *
 * @example
 * const page = await readOutbox(pool, 'admin', { after: 0, limit: 100 });
 */
export async function readOutbox(pool: pg.Pool, schema: string, q: { after: number; limit: number; since?: string }): Promise<FeedPage> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  const { rows } = await pool.query<{ id: number; topic: string; key: string; payload: unknown; created_at: Date }>(
    `SELECT id, topic, key, payload, created_at FROM ${schema}.outbox
      WHERE id > $1 AND ($2::timestamptz IS NULL OR created_at >= $2) ORDER BY id LIMIT $3`,
    [q.after, q.since ?? null, Math.min(q.limit, MAX_FEED_PAGE)],
  );
  const items = rows.map((r) => ({ id: r.id, topic: r.topic, key: r.key, payload: r.payload, createdAt: r.created_at.toISOString() }));
  return { items, nextAfter: items.length > 0 ? items[items.length - 1].id : q.after };
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
 * principals only (403 for users and API tokens).
 *
 * @example
 * eventFeedRoutes(app, { service: 'admin', schema: 'admin', pool });
 */
export function eventFeedRoutes(app: HttpApp, opts: { service: string; schema: string; pool: pg.Pool }): void {
  app.get(
    `/v1/internal/events/${opts.service}`,
    {
      schema: {
        tags: ['internal'],
        summary: `Events of the ${opts.service} service's outbox, oldest first (service principals only)`,
        querystring: Type.Object({
          after: Type.Integer({ minimum: 0, default: 0, description: 'The last id you handled' }),
          limit: Type.Integer({ minimum: 1, maximum: MAX_FEED_PAGE, default: 100 }),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events created at or after this time' })),
        }),
        response: { 200: Type.Object({ items: Type.Array(FeedEventSchema), nextAfter: Type.Integer() }) },
      },
    },
    async (request) => {
      requireService(request);
      return readOutbox(opts.pool, opts.schema, request.query);
    },
  );
}
