import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** Isolation levels accepted by {@link withTransaction}. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Options for {@link withTransaction}. */
export interface TransactionOptions {
  /** Defaults to `read committed`; the write path serialises with row locks instead. */
  isolation?: IsolationLevel;
  /** How many times to re-run after a serialization failure or deadlock. Defaults to 5. */
  retries?: number;
}

/** SQLSTATEs after which re-running the whole transaction is the documented remedy. */
const RETRYABLE = new Set(['40001', '40P01']);

/** What a transaction's body can do besides running statements on its connection. */
export interface Transaction {
  /**
   * Runs `query` as the transaction's last statement and commits: on a pipelining pool (rema's,
   * {@link createPool}) the two travel in one round trip, COMMIT written before the statement's
   * result is read — so whatever must hold for the change to be kept has to be checked inside the
   * statement (an error there makes PostgreSQL end the transaction with a rollback instead).
   * Returns the statement's result once both succeeded; throws the statement's error, or the
   * COMMIT's (a deferred constraint, a serialization failure). The body must run no statement
   * after it.
   */
  commitWith<R extends pg.QueryResultRow = pg.QueryResultRow>(query: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection and returns its result.
 * Any error rolls back and is rethrown. A serialization failure (40001) or deadlock
 * (40P01) — raised by `fn` or by COMMIT — rolls back and re-runs the whole transaction
 * after a short jittered backoff, up to `retries` times; then the last error is rethrown.
 *
 * On a pipelining pool ({@link createPool}) BEGIN travels with `fn`'s first statement, and
 * `tx.commitWith` sends the last one with COMMIT: a short transaction costs two round trips
 * instead of four. (PostgreSQL answers them in order, so `fn`'s first statement has its answer
 * only after BEGIN's; BEGIN itself fails only with its connection.)
 *
 * Because of the retry, `fn` must keep side effects outside the database (HTTP calls,
 * MQTT publishes) out of its body, or make them idempotent.
 *
 * @example
 * const revision = await withTransaction(pool, async (client) => {
 *   const { rows } = await client.query('SELECT revision FROM config.sites WHERE id = $1 FOR UPDATE', [siteId]);
 *   return rows[0].revision;
 * });
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient, tx: Transaction) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const retries = opts.retries ?? 5;
  const begin = `BEGIN ISOLATION LEVEL ${(opts.isolation ?? 'read committed').toUpperCase()}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(pool, begin, fn);
    } catch (err) {
      if (attempt >= retries || !RETRYABLE.has(sqlState(err) ?? '')) throw err;
      await sleep(backoffMs(attempt));
    }
  }
}

async function runOnce<T>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient, tx: Transaction) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool 'error' listener; if the server drops the
  // connection between queries, an unhandled 'error' event would kill the process.
  let connectionError: Error | undefined;
  const onError = (err: Error) => {
    connectionError = err;
  };
  client.on('error', onError);
  let broken = false;
  let committing = false;
  /** COMMIT was answered (a COMMIT, or the ROLLBACK of a failed transaction): the connection is idle. */
  let ended = false;
  const tx: Transaction = {
    async commitWith<R extends pg.QueryResultRow>(query: pg.QueryConfig) {
      if (committing) throw new Error('commitWith: the transaction is already committing');
      committing = true;
      if (!client.pipeline) {
        const result = await client.query<R>(query);
        await client.query('COMMIT');
        ended = true;
        return result;
      }
      const [statement, commit] = await Promise.allSettled(together(client, () => [client.query<R>(query), client.query('COMMIT')] as const));
      ended = commit.status === 'fulfilled';
      if (statement.status === 'rejected') throw statement.reason;
      if (commit.status === 'rejected') throw commit.reason;
      // COMMIT of a transaction that failed answers ROLLBACK; the statement's error was thrown above.
      if (commit.value.command !== 'COMMIT') throw new Error(`the transaction ended with ${commit.value.command}, not COMMIT`);
      return statement.value;
    },
  };
  try {
    let begun: Promise<unknown>;
    let body: Promise<T>;
    if (client.pipeline) {
      // fn's first statement is written with BEGIN; BEGIN's answer comes before that statement's.
      [begun, body] = together(client, () => [client.query(begin), fn(client, tx)] as const);
      begun.catch(() => {}); // awaited below
    } else {
      await (begun = client.query(begin));
      body = fn(client, tx);
    }
    const result = await body;
    await begun;
    if (!committing) await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      if (!ended) await client.query('ROLLBACK');
    } catch {
      // The connection is unusable (that is often why we are here): destroy it
      // instead of handing a half-open transaction back to the pool.
      broken = true;
    }
    // Once the connection failed, the statement after it only says the client is not
    // queryable: the failure itself (57P01, connection terminated, …) says more. An error of
    // the transaction's own (a refusal, a constraint) stays what it was.
    throw connectionError && isConnectionError(err) ? connectionError : err;
  } finally {
    client.removeListener('error', onError);
    // Passing a truthy value makes the pool destroy the connection instead of reusing it.
    client.release(connectionError ?? (broken ? true : undefined));
  }
}

/**
 * Runs `send` with the connection's socket corked, so the statements it issues on a pipelining
 * client leave in one write (and wake PostgreSQL once) instead of one write each.
 */
export function together<T>(client: pg.PoolClient, send: () => T): T {
  const socket = client.connection.stream;
  socket.cork();
  try {
    return send();
  } finally {
    socket.uncork();
  }
}

/** Full jitter over an exponential ceiling: 0–10 ms, 0–20 ms, … capped at 250 ms. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(250, 10 * 2 ** attempt);
  return 1 + Math.random() * ceiling;
}

/**
 * The SQLSTATE of a PostgreSQL error, looking through `cause` chains so errors wrapped by
 * callers still classify; `undefined` for anything else.
 */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Shape of the fields a constraint error carries, for mapping to 409 responses. */
export interface ConstraintError extends Error {
  code: string;
  constraint?: string;
  table?: string;
  schema?: string;
  detail?: string;
}

function hasState(err: unknown, state: string): err is ConstraintError {
  return err instanceof Error && sqlState(err) === state;
}

/** True for 23505 unique_violation (a duplicate key slipped past the rules). */
export function isUniqueViolation(err: unknown): err is ConstraintError {
  return hasState(err, '23505');
}

/** True for 23503 foreign_key_violation. */
export function isForeignKeyViolation(err: unknown): err is ConstraintError {
  return hasState(err, '23503');
}

/** True for 23514 check_violation. */
export function isCheckViolation(err: unknown): err is ConstraintError {
  return hasState(err, '23514');
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03']);

/**
 * True when the database is unreachable or went away: refused/reset sockets, the server
 * shutting down or starting up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now), any class 08 connection exception, node-postgres' "Connection
 * terminated…" and pool connect timeouts. These map to 503, not 500.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_ERRNOS.has(code) || CONNECTION_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/i.test(message)) {
      return true;
    }
    // AggregateError from dual-stack connects (ECONNREFUSED on ::1 and 127.0.0.1).
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.some((x) => isConnectionError(x))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
