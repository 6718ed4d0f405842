import pg from 'pg';

/** The channel `admin.notify_access_changed()` notifies on (migration 1764410000000). */
export const ACCESS_CHANNEL = 'rema_access';

export interface AccessCacheOptions {
  /** Connection settings of the listening connection: a client of its own, outside any pool. */
  connection: pg.ClientConfig;
  /** How long an answer may be kept at most, in ms; 0 keeps nothing (every lookup reads). */
  ttlMs: number;
  /** Least time between two attempts to (re)open the listening connection. Default 5 s. */
  retryMs?: number;
  /** How often the open connection is checked with a round trip. Default 10 s. */
  heartbeatMs?: number;
  /** How long the listening connection may take to open or to answer a round trip. Default 5 s. */
  answerMs?: number;
  /** Told once per outage that answers are not kept meanwhile. */
  onDown?: (err: Error) => void;
  now?: () => number;
}

/** Answers kept at most; past it the cache starts over (a fleet has far fewer credentials in use). */
const MAX_ANSWERS = 10_000;

/** What {@link createAccessCache} returns. */
export interface AccessCache {
  /**
   * `load()`'s answer for `key`, kept until `until(answer)` (epoch ms, e.g. a token's expiry)
   * or the TTL, whichever comes first (an `undefined` answer is not kept; `fresh` reads and
   * keeps nothing) — unless a change to tokens, users or role bindings is
   * notified meanwhile: then nothing is kept, and the next lookup reads again.
   */
  get<T>(key: string, load: () => Promise<T>, opts?: { until?: (answer: T) => number | undefined; fresh?: boolean }): Promise<T>;
  /** Drops every answer kept: what a notification does, at once in this process. */
  forget(): void;
  /** True while the listening connection is open: only then are answers kept. */
  readonly listening: boolean;
  close(): Promise<void>;
}

/**
 * A cache of the authenticator's lookups (an API token's row, a user's bindings) that cannot
 * outlive a change to what it holds. PostgreSQL notifies `rema_access` when a statement changes
 * tokens, users or role bindings (the triggers of migration 1764410000000), at the commit of
 * its transaction; this instance listens on a connection of its own and drops everything at each
 * notification. It keeps answers only while that connection is open: it opens on the first
 * lookup, and while it is down (or being opened) every lookup reads the database, as with no
 * cache at all. A lookup that was under way when a notification came answers its request but is
 * not kept. A connection that stops answering (a round trip every `heartbeatMs`, within
 * `answerMs`) counts as down. The TTL bounds how long an answer lives if a notification were
 * ever missed otherwise, and lets a token's last use be recorded.
 *
 * @example
 * const cache = createAccessCache({ connection: pool.options, ttlMs: 30_000 });
 * const principal = await cache.get(`token:${hash}`, () => lookUpToken(hash));
 */
export function createAccessCache(opts: AccessCacheOptions): AccessCache {
  const now = opts.now ?? Date.now;
  const retryMs = opts.retryMs ?? 5_000;
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const answerMs = opts.answerMs ?? 5_000;
  const answers = new Map<string, { answer: unknown; until: number }>();
  const pending = new Map<string, Promise<unknown>>();
  /** Moves on at each notification, outage and `forget()`: a lookup begun before it is not kept. */
  let generation = 0;
  let client: pg.Client | undefined;
  let state: 'down' | 'opening' | 'listening' | 'closed' = 'down';
  let lastAttempt = -Infinity;
  let reported = false;
  let heartbeat: NodeJS.Timeout | undefined;

  function forget() {
    generation++;
    answers.clear();
    pending.clear();
  }

  function stopHeartbeat() {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
  }

  function down(err: Error) {
    if (state === 'closed') return;
    forget();
    state = 'down';
    stopHeartbeat();
    const failed = client;
    client = undefined;
    failed?.removeAllListeners('notification');
    void failed?.end().catch(() => undefined);
    if (!reported) opts.onDown?.(err);
    reported = true;
  }

  async function open() {
    state = 'opening';
    lastAttempt = now();
    let c: pg.Client;
    try {
      // Every round trip of this connection answers within answerMs or the connection counts as down.
      const timeouts = { connectionTimeoutMillis: answerMs, query_timeout: answerMs };
      c = new pg.Client({ ...opts.connection, application_name: 'rema-access-listener', keepAlive: true, keepAliveInitialDelayMillis: 10_000, ...timeouts });
    } catch (err) {
      down(err as Error);
      return;
    }
    client = c;
    c.on('notification', () => forget());
    c.on('error', (err) => {
      if (client === c) down(err);
    });
    c.on('end', () => {
      if (client === c) down(new Error('the listening connection closed'));
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${ACCESS_CHANNEL}`);
    } catch (err) {
      if (client === c) down(err as Error);
      else void c.end().catch(() => undefined);
      return;
    }
    if (client !== c || (state as string) === 'closed') return;
    // Whatever changed before LISTEN took effect was never kept: nothing was kept while down.
    forget();
    state = 'listening';
    reported = false;
    // A connection that died without a word would otherwise count as listening until the TTL's
    // end of each answer: a round trip every heartbeatMs finds it out.
    let beating = false;
    heartbeat = setInterval(() => {
      if (beating) return; // the last one is still within its answerMs
      beating = true;
      c.query('SELECT 1').then(
        () => (beating = false),
        (err: Error) => {
          if (client === c) down(err);
        },
      );
    }, heartbeatMs);
    heartbeat.unref();
  }

  function keeping(): boolean {
    if (state === 'listening') return true;
    if (state === 'down' && opts.ttlMs > 0 && now() - lastAttempt >= retryMs) void open().catch((err: Error) => down(err));
    return false;
  }

  return {
    async get<T>(key: string, load: () => Promise<T>, o: { until?: (answer: T) => number | undefined; fresh?: boolean } = {}): Promise<T> {
      if (!keeping() || o.fresh) return load();
      const t = now();
      const kept = answers.get(key);
      if (kept && kept.until > t) return kept.answer as T;
      if (kept) answers.delete(key);
      const running = pending.get(key);
      if (running) return running as Promise<T>;
      const started = generation;
      const lookup = load().then(
        (answer) => {
          if (generation === started && state === 'listening') {
            pending.delete(key);
            const expiry = Math.min(now() + opts.ttlMs, o.until?.(answer) ?? Infinity);
            // Nothing is kept of an unknown credential: guessing would only fill memory.
            if (answer !== undefined && expiry > now()) {
              if (answers.size >= MAX_ANSWERS) answers.clear();
              answers.set(key, { answer: deepFreeze(answer), until: expiry });
            }
          }
          return answer;
        },
        (err: unknown) => {
          if (pending.get(key) === lookup) pending.delete(key);
          throw err;
        },
      );
      pending.set(key, lookup);
      return lookup;
    },
    forget,
    get listening() {
      return state === 'listening';
    },
    async close() {
      state = 'closed';
      stopHeartbeat();
      forget();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

/** Kept answers are shared by every request that reads them: none may change one. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
