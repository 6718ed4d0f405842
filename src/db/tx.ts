import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { connectionErrorOf } from './pool.ts';

/** Isolation levels accepted by {@link withTransaction}. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Options for {@link withTransaction}. */
export interface TransactionOptions {
  /** Defaults to `read committed`; the write path serialises with row locks instead. */
  isolation?: IsolationLevel;
  /** How many times to re-run after a serialization failure or deadlock. Defaults to 5. */
  retries?: number;
  /**
   * On a pipelining pool, write BEGIN with `fn`'s first statement instead of waiting for its
   * answer. Only for bodies whose first statement is harmless on its own (a read, a lock, an
   * upsert of a row that only locks, like the write path's audit chain head): were BEGIN refused,
   * that statement would have run outside the transaction (nothing after it does: the connection
   * is cut, and `commitWith` and COMMIT require an open transaction).
   */
  pipelineBegin?: boolean;
}

/**
 * The transaction committed although its body failed (a statement that never reached the
 * server, or the body rejecting while `commitWith` was under way): what it wrote is kept. Never
 * retried; a bug of the body's, not a state of the database.
 */
export class CommittedDespiteError extends Error {
  constructor(cause: unknown) {
    super(`the transaction committed although its body failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CommittedDespiteError';
  }
}

/**
 * COMMIT was written and its answer never came (the connection was lost, or the driver gave up
 * waiting): the transaction may or may not have committed. `pid` is the server process that ran
 * it, for {@link committedAfterLoss}. Never retried.
 */
export class CommitOutcomeUnknown extends Error {
  constructor(
    readonly pid: number | undefined,
    cause: unknown,
  ) {
    super(`the answer to COMMIT was lost: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CommitOutcomeUnknown';
  }
}

/** An answer from the server about the transaction itself (a constraint, a serialization failure), not about the connection. */
const answeredByServer = (err: unknown) => {
  const state = sqlState(err);
  return state !== undefined && !/^(08|57)/.test(state);
};

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
  commitWith<R extends pg.QueryResultRow = pg.QueryResultRow>(query: CommitStatement): Promise<pg.QueryResult<R>>;
}

/**
 * The statement `commitWith` sends: its values only of the kinds node-postgres cannot fail to
 * encode (checked before anything is sent) — a value the driver refused would never reach
 * PostgreSQL, and the COMMIT written with it would commit the rest of the transaction.
 */
export interface CommitStatement {
  name?: string;
  text: string;
  values: ReadonlyArray<string | number | boolean | null | readonly string[]>;
}

const plainValue = (v: unknown) =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection and returns its result.
 * Any error rolls back and is rethrown. A serialization failure (40001) or deadlock
 * (40P01) — raised by `fn` or by COMMIT — rolls back and re-runs the whole transaction
 * after a short jittered backoff, up to `retries` times; then the last error is rethrown.
 *
 * On a pipelining pool ({@link createPool}) `tx.commitWith` sends the last statement with COMMIT,
 * and with `pipelineBegin` BEGIN travels with `fn`'s first statement: a short transaction costs
 * two round trips instead of four. PostgreSQL answers them in order, so `fn`'s first statement
 * has its answer only after BEGIN's.
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
      return await runOnce(pool, begin, fn, opts.pipelineBegin === true);
    } catch (err) {
      // Committed, or maybe committed: running it again could apply it twice.
      if (err instanceof CommittedDespiteError || err instanceof CommitOutcomeUnknown) throw err;
      if (attempt >= retries || !RETRYABLE.has(sqlState(err) ?? '')) throw err;
      await sleep(backoffMs(attempt));
    }
  }
}

/**
 * A connection of `pool`, listened to while checked out: a checked-out client has no pool
 * 'error' listener, and if the server drops the connection between queries an unhandled 'error'
 * event would kill the process. (A pool of {@link createPool}'s has its connections listen all
 * their lives, and notes what broke one before this listener is on: see there.) `release` hands
 * it back, or destroys it when it failed or is `broken`.
 */
async function checkOut(pool: pg.Pool) {
  const client = await pool.connect();
  const seen: { error?: Error } = {};
  const onError = (err: Error) => {
    seen.error = err;
  };
  client.on('error', onError);
  return {
    client,
    connectionError: () => connectionErrorOf(client) ?? seen.error,
    release(broken: boolean) {
      client.removeListener('error', onError);
      // Passing a truthy value makes the pool destroy the connection instead of reusing it.
      client.release(connectionErrorOf(client) ?? seen.error ?? (broken ? true : undefined));
    },
  };
}

async function runOnce<T>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient, tx: Transaction) => Promise<T>, pipelineBegin: boolean): Promise<T> {
  const { client, connectionError, release } = await checkOut(pool);
  let broken = false;
  let begun: Promise<unknown> | undefined;
  let beginError: { err: unknown } | undefined;
  /** commitWith's work, once asked for. */
  let committing: Promise<pg.QueryResult> | undefined;
  /** commitWith's COMMIT, once sent: answered with the command that ended the transaction. */
  let commit: Promise<PromiseSettledResult<pg.QueryResult>> | undefined;
  /** COMMIT was answered (a COMMIT, or the ROLLBACK of a failed transaction): the connection is idle. */
  let ended = false;
  const tx: Transaction = {
    commitWith<R extends pg.QueryResultRow>(query: CommitStatement) {
      if (committing) return Promise.reject(new Error('commitWith: the transaction is already committing'));
      committing = finishWith(query);
      committing.catch(() => {}); // fn may not await it: the transaction does, below
      return committing as Promise<pg.QueryResult<R>>;
    },
  };
  /** The last statement and COMMIT; what it throws is what the transaction throws, whatever fn makes of it. */
  async function finishWith<R extends pg.QueryResultRow>(query: CommitStatement): Promise<pg.QueryResult<R>> {
    if (!query.values.every(plainValue)) throw new Error('commitWith: only strings, finite numbers, booleans, null and string arrays may be sent with COMMIT');
    requireTransaction(client, 'commitWith');
    const config = { name: query.name, text: query.text, values: [...query.values] };
    let statement: Promise<PromiseSettledResult<pg.QueryResult<R>>>;
    if (client.pipeline) {
      [statement, commit] = together(client, () => [settle(client.query<R>(config)), settle(client.query('COMMIT'))] as const);
    } else {
      statement = settle(client.query<R>(config));
      commit = statement.then((s) => (s.status === 'fulfilled' ? settle(client.query('COMMIT')) : { status: 'rejected' as const, reason: s.reason }));
    }
    const [done, committed] = await Promise.all([statement, commit]);
    ended = committed.status === 'fulfilled';
    // COMMIT went out (with the statement, or after its answer) and no answer about it came back.
    if (committed.status === 'rejected' && !answeredByServer(committed.reason) && (client.pipeline || done.status === 'fulfilled')) {
      throw new CommitOutcomeUnknown(serverPid(client), committed.reason);
    }
    if (done.status === 'rejected') {
      // The server never saw the statement fail (the driver refused it) and committed the rest.
      if (committed.status === 'fulfilled' && committed.value.command === 'COMMIT') throw new CommittedDespiteError(done.reason);
      throw done.reason;
    }
    if (committed.status === 'rejected') throw committed.reason;
    // COMMIT of a transaction that failed answers ROLLBACK.
    if (committed.value.command !== 'COMMIT') throw new Error(`the transaction ended with ${committed.value.command}, not COMMIT`);
    return done.value;
  }
  try {
    let body: Promise<T>;
    if (pipelineBegin && client.pipeline) {
      // fn's first statement is written with BEGIN; BEGIN's answer comes before that statement's.
      [begun, body] = together(client, () => [beginOrCut(client, begin), fn(client, tx)] as const);
      begun.catch((err: unknown) => (beginError = { err })); // awaited below; said first if fn fails after it
    } else {
      await (begun = client.query(begin));
      body = fn(client, tx);
    }
    const result = await body;
    await begun;
    if (committing) {
      // fn may have caught commitWith's failure, or not awaited it: its outcome decides, not fn.
      await committing;
    } else {
      requireTransaction(client, 'COMMIT');
      const { command } = await client.query('COMMIT');
      ended = true;
      // A transaction whose error fn caught and swallowed ends in a ROLLBACK: that is no success.
      if (command !== 'COMMIT') throw new Error(`the transaction ended with ${command}, not COMMIT`);
    }
    return result;
  } catch (thrown) {
    // A refused BEGIN is what went wrong, whatever fn's statements then said.
    const err = beginError ? beginError.err : thrown;
    if (commit && !ended) {
      // fn failed while its commitWith was under way: the answer to COMMIT says what became of it.
      const committed = await commit;
      ended = committed.status === 'fulfilled';
      if (committed.status === 'fulfilled' && committed.value.command === 'COMMIT') throw new CommittedDespiteError(err);
      if (committed.status === 'rejected' && !answeredByServer(committed.reason)) {
        broken = true; // its answer may still come: the connection must not serve anyone else
        throw err instanceof CommitOutcomeUnknown ? err : new CommitOutcomeUnknown(serverPid(client), committed.reason);
      }
    }
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
    if (err instanceof CommitOutcomeUnknown || err instanceof CommittedDespiteError) throw err;
    const lost = connectionError();
    throw lost && isConnectionError(err) ? lost : err;
  } finally {
    release(broken);
  }
}

/**
 * Runs `query` as a transaction of its own — PostgreSQL's implicit one: all of the statement is
 * kept or none of it — in one round trip, without BEGIN or COMMIT. For a write that is one
 * statement and checks inside itself that it may be kept (the write path's change to a site it
 * holds a current copy of: {@link CommitStatement}'s rules on values apply). Nothing is retried:
 * an error the server answered is thrown as it came; an answer lost after the statement went out
 * throws {@link CommitOutcomeUnknown}, as `commitWith` does.
 */
export async function runAlone<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: pg.Pool, query: CommitStatement): Promise<pg.QueryResult<R>> {
  if (!query.values.every(plainValue)) throw new Error('runAlone: only strings, finite numbers, booleans, null and string arrays may be sent');
  const { client, connectionError, release } = await checkOut(pool);
  let broken = false;
  try {
    // A connection that broke before it reached us (the server shutting down): nothing is sent,
    // so its failure is what it was, not a lost answer.
    const lost = connectionError();
    if (lost) {
      broken = true;
      throw lost;
    }
    // Inside a transaction left open, the statement would wait for a COMMIT nobody sends.
    if (client.getTransactionStatus() !== 'I') {
      broken = true;
      throw new Error(`runAlone: the connection is not idle (status ${client.getTransactionStatus()})`);
    }
    try {
      return await client.query<R>({ name: query.name, text: query.text, values: [...query.values] });
    } catch (err) {
      if (answeredByServer(err)) throw err;
      broken = true;
      throw new CommitOutcomeUnknown(serverPid(client), err);
    }
  } finally {
    release(broken);
  }
}

/**
 * After a connection was lost with COMMIT sent but unanswered: whether the transaction committed.
 * Waits (on other connections of `pool`) until the server process that ran it, `pid`, has ended
 * — it finishes what it had received, COMMIT included, before it notices the loss — then asks
 * `probe` (does a row the transaction wrote exist?). `undefined` when that cannot be told within
 * `timeoutMs` (the server is unreachable, or the process still runs).
 *
 * @example
 * const committed = await committedAfterLoss(pool, pid, async () => (await pool.query('SELECT 1 FROM config.changesets WHERE id = $1', [id])).rowCount === 1);
 */
export async function committedAfterLoss(pool: pg.Pool, pid: number, probe: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean | undefined> {
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { rowCount } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rowCount === 0) return await probe();
      if (Date.now() >= deadline) return undefined;
      await sleep(20);
    }
  } catch {
    return undefined;
  }
}

/** The server process id of a connection (node-postgres keeps it from the start-up handshake). */
export const serverPid = (client: pg.PoolClient): number | undefined => (client as unknown as { processID?: number | null }).processID ?? undefined;

/**
 * Throws unless the connection's last answer left it inside a transaction block (status `T`):
 * what `what` would send next would otherwise run on its own, outside the transaction.
 */
export function requireTransaction(client: pg.PoolClient, what: string): void {
  const status = client.getTransactionStatus();
  if (status !== 'T') throw new Error(`${what}: the connection is not inside the transaction (status ${status})`);
}

/**
 * Sends BEGIN; if it is refused, cuts the connection at once — in the driver's callback, before
 * any later answer is handed on — so nothing fn sends after its first statement reaches the
 * server outside a transaction.
 */
function beginOrCut(client: pg.PoolClient, begin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(begin, (err: Error | undefined) => {
      if (!err) return resolve();
      client.connection.stream.destroy();
      reject(err);
    });
  });
}

const settle = <V>(p: Promise<V>): Promise<PromiseSettledResult<V>> =>
  p.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );

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
