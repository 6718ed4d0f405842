/**
 * A polling consumer of another service's event feed. It keeps its position (the last event
 * id handled) in a cursor store — a row of `<schema>.event_cursors` in the consuming service's
 * own schema — and calls a handler once per event, in id order, at least once: a crash
 * between the handler and the cursor update replays that event. With the PostgreSQL store the
 * handler gets the transaction that moves the cursor, so database side effects written there
 * happen exactly once.
 */
import type pg from 'pg';
import { withTransaction } from '../db/tx.ts';
import type { FeedEvent, FeedPage } from './feed.ts';

export type { FeedEvent } from './feed.ts';

/** Reads a page of events after `after` (optionally only those created since `since`). */
export type FeedSource = (q: { after: number; limit: number; since?: string }) => Promise<FeedPage>;

/**
 * The feed of `service` at `baseUrl` (`GET /v1/internal/events/{service}`), authenticated with
 * a service JWT from `token()`.
 *
 * @example
 * const source = httpFeedSource({ baseUrl: 'http://admin:8080', service: 'admin', token: () => serviceTokens.get() });
 */
export function httpFeedSource(opts: { baseUrl: string; service: string; token: () => Promise<string> | string; fetch?: typeof fetch }): FeedSource {
  const doFetch = opts.fetch ?? fetch;
  return async ({ after, limit, since }) => {
    const url = new URL(`/v1/internal/events/${opts.service}`, opts.baseUrl);
    url.searchParams.set('after', String(after));
    url.searchParams.set('limit', String(limit));
    if (since) url.searchParams.set('since', since);
    const res = await doFetch(url, { headers: { authorization: `Bearer ${await opts.token()}`, accept: 'application/json' } });
    if (!res.ok) throw new Error(`event feed ${url.pathname} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as FeedPage;
  };
}

/** Where a consumer keeps its position. */
export interface CursorStore {
  load(): Promise<number>;
  /**
   * Runs `work` for each of `ids` (ascending) above the position, in order, and moves the
   * position to the last of them; ids the position already passed (another instance of the
   * same consumer handled them) are skipped. With a transactional store all of it is one
   * transaction, handed to `work`: the effects of a run of events commit with the position,
   * or none of them does. Then the position moves on to `through`, when given and further: a
   * filtered feed's page says how far it looked ({@link FeedPage}'s `nextAfter`), and what it
   * passed over is not this consumer's. Resolves with how many ran.
   */
  advance(ids: readonly number[], work: (id: number, tx: pg.PoolClient | undefined) => Promise<void>, through?: number): Promise<number>;
}

/** A position in memory: for consumers that rebuild their state on start (e.g. a denylist). */
export function memoryCursorStore(start = 0): CursorStore {
  let position = start;
  return {
    load: async () => position,
    async advance(ids, work, through) {
      let ran = 0;
      for (const id of ids) {
        if (id <= position) continue;
        await work(id, undefined);
        position = id;
        ran++;
      }
      if (through !== undefined && through > position) position = through;
      return ran;
    },
  };
}

/**
 * A position in `<schema>.event_cursors` (created when missing), one row per consumer name.
 * A run of events is handled in one transaction that locks the row, runs the handler for each
 * event with that transaction and moves the position: instances of one consumer never handle
 * an event twice, and a backlog costs one commit per page, not one per event.
 */
export function pgCursorStore(pool: pg.Pool, opts: { schema: string; consumer: string }): CursorStore {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`invalid schema name: ${opts.schema}`);
  const table = `${opts.schema}.event_cursors`;
  let ready: Promise<void> | undefined;
  const ensure = () =>
    (ready ??= (async () => {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (consumer text PRIMARY KEY, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
      await pool.query(`INSERT INTO ${table} (consumer, position) VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING`, [opts.consumer]);
    })().catch((err) => {
      ready = undefined;
      throw err;
    }));
  return {
    async load() {
      await ensure();
      const { rows } = await pool.query<{ position: number }>(`SELECT position FROM ${table} WHERE consumer = $1`, [opts.consumer]);
      return rows[0]?.position ?? 0;
    },
    async advance(ids, work, through) {
      await ensure();
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ position: number }>(`SELECT position FROM ${table} WHERE consumer = $1 FOR UPDATE`, [opts.consumer]);
        const position = Number(rows[0]?.position ?? 0);
        const due = ids.filter((id) => id > position);
        for (const id of due) await work(id, client);
        const to = Math.max(position, due[due.length - 1] ?? position, through ?? position);
        if (to > position) await client.query(`UPDATE ${table} SET position = $2, updated_at = now() WHERE consumer = $1`, [opts.consumer, to]);
        return due.length;
      });
    },
  };
}

export interface ConsumerOptions {
  source: FeedSource;
  cursor: CursorStore;
  /** Called once per event in id order; must tolerate a replay (at-least-once). */
  handler: (event: FeedEvent, tx: pg.PoolClient | undefined) => Promise<void>;
  /** Pause between polls when the feed had nothing new (default 1000 ms). */
  pollIntervalMs?: number;
  batchSize?: number;
  /** While the position is 0: start at events created since this time instead of the beginning. */
  since?: Date;
  /** Told about failed polls and handlers; the consumer retries on the next poll. */
  onError?: (err: unknown) => void;
}

export interface EventConsumer {
  /** Handles every event available now; resolves with how many it handled. */
  pollOnce(): Promise<number>;
  /** Stops polling (waits for the poll in flight). */
  stop(): Promise<void>;
}

/**
 * Starts polling `source` and handing each new event to `handler`. A failing handler stops
 * the batch at that event; the next poll retries it (the cursor never passes an event that was
 * not handled).
 *
 * @example
 * const consumer = startConsumer({
 *   source: httpFeedSource({ baseUrl, service: 'admin', token }),
 *   cursor: pgCursorStore(pool, { schema: 'lifecycle', consumer: 'admin-events' }),
 *   handler: async (event, tx) => { if (event.topic === 'admin.user.disabled') await tx!.query('…'); },
 * });
 * // …
 * await consumer.stop();
 */
export function startConsumer(opts: ConsumerOptions): EventConsumer {
  const interval = opts.pollIntervalMs ?? 1000;
  const limit = opts.batchSize ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<number> | undefined;

  /**
   * After a failed page, events go one at a time until a page passes: those before the failing
   * event are kept, and the failing one holds back only itself and what follows it.
   */
  let oneByOne = false;

  async function handle(events: FeedEvent[], through?: number): Promise<number> {
    const byId = new Map(events.map((e) => [e.id, e]));
    return opts.cursor.advance(
      events.map((e) => e.id),
      (id, tx) => opts.handler(byId.get(id)!, tx),
      through,
    );
  }

  async function drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const after = await opts.cursor.load();
      const since = after === 0 && opts.since ? opts.since.toISOString() : undefined;
      const page = await opts.source({ after, limit, since });
      if (stopped) return handled;
      if (oneByOne) {
        for (const event of page.items) {
          if (stopped) return handled;
          handled += await handle([event]);
        }
        oneByOne = false;
      } else if (page.items.length > 0 || page.nextAfter > after) {
        // A page that is not full ends the feed as it stood: the position may move to where it
        // looked up to, past events a filtered feed left out.
        const through = page.items.length < limit ? page.nextAfter : undefined;
        try {
          handled += await handle(page.items, through);
        } catch (err) {
          oneByOne = true;
          throw err;
        }
      }
      if (page.items.length < limit) return handled;
    }
  }

  function pollOnce(): Promise<number> {
    inFlight ??= drain().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const loop = async () => {
    if (stopped) return;
    try {
      await pollOnce();
    } catch (err) {
      opts.onError?.(err);
    }
    if (!stopped) {
      timer = setTimeout(loop, interval);
      timer.unref();
    }
  };
  timer = setTimeout(loop, 0);
  timer.unref();

  return {
    pollOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight?.catch(() => undefined);
    },
  };
}
