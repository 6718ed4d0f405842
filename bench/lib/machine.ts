import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** The 1-minute load average, as `cat /proc/loadavg` shows it. */
export function loadavg1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

/**
 * Waits (up to `maxWaitS`) until the 1-minute load average is at most `threshold`, so figures
 * are not taken while other work shares the machine. Returns the load it started with.
 */
export async function waitForLowLoad(threshold: number, maxWaitS: number, log: (msg: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  let load = loadavg1();
  if (load > threshold) log(`load average ${load.toFixed(2)} > ${threshold}: waiting up to ${maxWaitS} s for it to drop`);
  while (load > threshold && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5000));
    load = loadavg1();
  }
  return load;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICK_MS = 10;

/** CPU time (user + system, all threads) a process has used, in ms; NaN when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    return cpuFields(readFileSync(`/proc/${pid}/stat`, 'utf8')).own;
  } catch {
    return NaN;
  }
}

/** The CPU fields of /proc/<pid>/stat after "(comm) ", in ms: utime, stime, cutime, cstime (fields 14–17). */
/** CPU ms a process has used (utime + stime) and when it started (clock ticks since boot), from its stat line. */
function cpuFields(stat: string): { own: number; started: string } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 of stat(5), the state; fields[19] is field 22, the start time.
  return { own: (Number(fields[11]) + Number(fields[12])) * TICK_MS, started: fields[19] };
}

/**
 * A running total of the CPU time (ms) the PostgreSQL server spends for `database`: its backends
 * serving that database and the server's own processes (postmaster, checkpointer, WAL writer, …).
 * Each call adds what each such process used since the call before — all of it for a process not
 * seen before — so differences between two calls are what the server spent for the database in
 * between, whatever else it serves. A process that exits between two calls takes its time since
 * the first along (a backend rarely exits while its client works). The postmaster's time of its
 * reaped children is not read: it counts the exited backends of every database, and in (4) the
 * server of the fleet not measured closes idle connections inside the other's windows.
 */
export function postgresCpuCounter(database: string): () => number {
  let seen = new Map<string, number>();
  let total = 0;
  return () => {
    const now = new Map<string, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
        // A child retitles itself "postgres: <cluster>: <what>"; a client backend's <what> is "<user> <database> <client> <state>".
        const child = /^postgres: [^:]+: (.*)$/.exec(cmdline.trim());
        const backend = child && /^\S+ (\S+) (?:\[local\]|\S+\(\d+\))/.exec(child[1]);
        if (backend && backend[1] !== database) continue;
        const { own, started } = cpuFields(stat);
        now.set(`${entry}:${started}`, own);
      } catch {
        // gone between the listing and the read
      }
    }
    for (const [process, ms] of now) total += ms - (seen.get(process) ?? 0);
    seen = now;
    return total;
  };
}

/**
 * What a measured run cost each process taking part, in CPU ms: the servers (by pid; summed), the
 * database (see {@link postgresCpuMs}) and this process (the load generator). Read at the start
 * and the end of the measured window.
 */
export function cpuMeter(serverPid: number | readonly number[] | undefined, database: string): () => Record<string, number> {
  const pids = serverPid === undefined ? [] : typeof serverPid === 'number' ? [serverPid] : serverPid;
  const postgresCpuMs = postgresCpuCounter(database);
  return () => {
    const own = process.cpuUsage();
    return {
      ...(pids.length === 0 ? {} : { rema: pids.reduce((sum, pid) => sum + processCpuMs(pid), 0) }),
      postgres: postgresCpuMs(),
      client: (own.user + own.system) / 1000,
    };
  };
}

/**
 * Reads the database's counters a write drives: the WAL it writes (bytes, and the full-page
 * images among its records: a page's first change after a checkpoint is written whole) — for the
 * whole PostgreSQL server, so other databases' writes in the window would count too (the bench
 * expects a server of its own, as for the CPU, and in (4) lets neither of its two databases'
 * servers work while the other is measured) — and the blocks the bench's database read from
 * outside PostgreSQL's shared buffers. Backends report these at the end of their transactions,
 * at most about once a second: a window of ten seconds reads them to within a few percent.
 * `pg_stat_wal` is PostgreSQL 14's: on an older server the counters are left out (an empty
 * record).
 */
export function dbCounters(pool: { query: (sql: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }> }, database: string): () => Promise<Record<string, number>> {
  let available: Promise<boolean> | undefined;
  return async (): Promise<Record<string, number>> => {
    available ??= pool.query(`SELECT current_setting('server_version_num')::int >= 140000 AS ok`).then((r) => r.rows[0]?.ok === true);
    if (!(await available)) return {};
    const { rows } = await pool.query(
      `SELECT w.wal_bytes, w.wal_fpi, d.blks_read FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = $1`,
      [database],
    );
    const row = rows[0] ?? {};
    return { walBytes: Number(row.wal_bytes), walFpi: Number(row.wal_fpi), blocksRead: Number(row.blks_read) };
  };
}
