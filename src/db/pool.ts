import { createHash } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';

/** PostgreSQL type OID of `bigint` / `int8`. */
const INT8_OID = 20;

/** Options for {@link createPool}; every field has a production default. */
export interface PoolOptions {
  /** Maximum connections. Defaults to {@link poolSizeFromEnv}. */
  max?: number;
  /** Server-side `application_name`, visible in `pg_stat_activity`. Defaults to `rema`. */
  applicationName?: string;
  /**
   * Milliseconds a session may sit idle inside an open transaction before PostgreSQL
   * kills it. Defaults to 60 000. A leaked transaction would otherwise keep a site row
   * locked and stall every later write to that site.
   */
  idleInTransactionTimeoutMs?: number;
  /** Milliseconds to wait for a free connection or a new one. Defaults to 10 000. */
  connectionTimeoutMs?: number;
  /** Called when an idle pooled connection fails (server restart, network loss). */
  onIdleError?: (err: Error) => void;
}

const parseInt8 = (value: string) => Number(value);

/**
 * Type parsers shared by every pool: `bigint` columns (sequence numbers, site revisions,
 * counts) become JS numbers. Values stay far below 2^53 in this domain; parsing them as
 * strings would push `Number(...)` calls into every caller.
 */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Connections an instance may open: `PG_POOL_SIZE`, else {@link defaultPoolSize} of this machine.
 *
 * @example
 * poolSizeFromEnv(); // 10 on a 2-core machine without PG_POOL_SIZE
 */
export function poolSizeFromEnv(): number {
  const raw = process.env.PG_POOL_SIZE;
  const parsed = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : defaultPoolSize();
}

/**
 * Four connections a core of this machine, from 10 to 20. PostgreSQL runs a statement per
 * connection on a core of its own: past a few connections a core, more of them only queue on
 * its locks and CPUs instead of in the pool, and cost it more per statement. On the 2-core
 * machines of docs/benchmarks.md, with PostgreSQL beside rema, validated writes at 16 clients
 * went 9–13 % faster with 5 connections for the configuration service than with 15, at a
 * quarter less of PostgreSQL's CPU per write. A database on a larger machine of its own takes
 * `PG_POOL_SIZE` (docs/operations.md, "Connections").
 */
export function defaultPoolSize(cores = os.availableParallelism()): number {
  return Math.min(20, Math.max(10, 4 * cores));
}

/**
 * How an instance's connections (`budget`, {@link poolSizeFromEnv}) are split in one process
 * running the configuration and the lifecycle services (`ownLifecyclePool`): the lifecycle
 * service gets a pool of its own — half of the budget up to 5, a quarter of it beyond that, at
 * least 3 — and the other services the rest, at least 2 (a budget under 5 opens more). The
 * lifecycle service calls the configuration service while it holds transactions of its own: on
 * one shared pool, enough of those at once would hold every connection while their calls wait
 * for one. Run apart, a service has the whole budget.
 *
 * @example
 * poolShares(10, true); // { main: 5, lifecycle: 5 }
 * poolShares(40, true); // { main: 30, lifecycle: 10 }
 */
export function poolShares(budget: number, ownLifecyclePool: boolean): { main: number; lifecycle: number } {
  const lifecycle = ownLifecyclePool ? Math.max(3, Math.floor(budget / 4), Math.min(5, Math.floor(budget / 2))) : 0;
  return { main: Math.max(2, budget - lifecycle), lifecycle };
}

/**
 * Creates a connection pool for `url` with rema's defaults: `bigint` parsed as number,
 * `application_name = rema`, a bounded size, a timeout that kills sessions left idle inside a
 * transaction, and pipelining (so a cursor, a `rows` option or COPY cannot run on it).
 *
 * The type parser is set per pool rather than globally on `pg.types`, so libraries that
 * share the `pg` module (node-pg-migrate) keep their own behaviour.
 *
 * @example
 * const pool = createPool(process.env.DATABASE_URL!);
 * const { rows } = await pool.query<{ n: number }>('SELECT count(*) AS n FROM audit.events');
 * await pool.end();
 */
export function createPool(url: string, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? poolSizeFromEnv(),
    application_name: opts.applicationName ?? 'rema',
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 60_000,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    types: typeParsers,
    // Statements issued before the last one's answer go out at once (node-postgres' pipelining):
    // withTransaction sends COMMIT with a transaction's last statement (commitWith) and, where
    // asked, BEGIN with its first. Code that awaits each statement behaves as before.
    pipeline: true,
  });
  // Without a listener, an idle connection dropped by the server ('error' event) would
  // crash the whole process. The pool already discards the broken client.
  pool.on('error', (err) => {
    if (opts.onIdleError) opts.onIdleError(err);
    else console.warn(`rema: idle PostgreSQL connection failed: ${err.message}`);
  });
  // And every connection listens for as long as it lives, wherever it is. The pool's listener
  // is off while a connection is checked out, and the pool can hand a connection on while the
  // driver handles that connection's last answer (`pool.query` releases it there): a
  // termination read in the same chunk (a server shutdown under load) is emitted before the
  // code that asked for the connection runs again to listen.
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      if (!connectionErrors.has(client)) connectionErrors.set(client, err);
    });
  });
  return pool;
}

const connectionErrors = new WeakMap<pg.ClientBase, Error>();

/**
 * The error that broke `client`, a connection of a pool made by {@link createPool}, if one did.
 * A broken connection is never handed out again, so an error here happened while its holder had it.
 */
export function connectionErrorOf(client: pg.ClientBase): Error | undefined {
  return connectionErrors.get(client);
}

const statementNames = new Map<string, string>();

/**
 * `text` as a named (prepared) statement: each connection has PostgreSQL parse and plan it
 * once, then only binds and executes it. The name comes from the text, so one text is one
 * statement on every connection. For the fixed statements of hot paths, not for text built
 * from data.
 *
 * @example
 * await client.query(prepared('SELECT revision FROM config.sites WHERE id = $1', [siteId]));
 */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  return { name: statementName(text), text, values };
}

/** The name `text` is prepared under on every connection (see {@link prepared}). */
export function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `rema_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}
