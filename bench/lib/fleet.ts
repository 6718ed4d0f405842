import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** The rema tree to run (REMA_BENCH_ROOT: another checkout, e.g. the code before a change, for a baseline). */
const ROOT = process.env.REMA_BENCH_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));

export interface SeedResult {
  /** Wall time of the whole `rema seed` command, start-up and planning included. */
  wallS: number;
  /** What the command itself reports: time spent building, and its rate. */
  elapsedS: number;
  assets: number;
  assetsPerS: number;
  output: string;
}

/** Builds a fleet with `rema seed` (a process of its own, through the public API). */
export async function seedFleet(opts: { url: string; token: string; sites: number; assets: number; prefix?: string; concurrency: number; root?: string }): Promise<SeedResult> {
  const args = ['bin/rema.mjs', 'seed', '--sites', String(opts.sites), '--assets', String(opts.assets), '--url', opts.url, '--token', opts.token, '--concurrency', String(opts.concurrency)];
  if (opts.prefix) args.push('--prefix', opts.prefix);
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: opts.root ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallS = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`rema seed exited with ${code}:\n${output.slice(-3000)}`);
  const num = (re: RegExp) => Number((re.exec(output)?.[1] ?? 'NaN').replace(/[,\s]/g, ''));
  return {
    wallS,
    elapsedS: num(/^elapsed\s+([\d.]+) s/m),
    assets: num(/^assets\s+([\d,\s]+)$/m),
    assetsPerS: num(/^rate\s+([\d,\s]+) assets\/s/m),
    output,
  };
}

export interface WriteTarget {
  id: string;
  siteId: string;
  version: number;
  serial: string | null;
  calibrationOffset: number;
}

/**
 * The assets the write scenarios change: sensors in service (a calibration offset is a
 * configuration change every rule accepts), with their current row version.
 */
export async function writeTargets(pool: pg.Pool, opts: { sitePrefix?: string } = {}): Promise<WriteTarget[]> {
  const { rows } = await pool.query<{ id: string; site_id: string; version: number; serial: string | null; offset: number }>(
    `SELECT a.id, a.site_id, a.version, a.serial, (a.config->>'calibrationOffset')::float8 AS offset
       FROM config.assets a JOIN config.sites s ON s.id = a.site_id
      WHERE a.kind = 'sensor' AND a.status <> 'retired' AND ($1::text IS NULL OR s.code LIKE $1 || '%')
      ORDER BY a.id`,
    [opts.sitePrefix ?? null],
  );
  return rows.map((r) => ({ id: r.id, siteId: r.site_id, version: r.version, serial: r.serial, calibrationOffset: r.offset }));
}

/** Current row versions of `ids` (after another scenario changed them). */
export async function refreshVersions(pool: pg.Pool, targets: WriteTarget[]): Promise<void> {
  const { rows } = await pool.query<{ id: string; version: number; offset: number | null }>(
    `SELECT id, version, (config->>'calibrationOffset')::float8 AS offset FROM config.assets WHERE id = ANY($1::uuid[])`,
    [targets.map((t) => t.id)],
  );
  const stored = new Map(rows.map((r) => [r.id, r]));
  for (const t of targets) {
    const r = stored.get(t.id);
    if (!r) continue;
    t.version = r.version;
    // The floor's writes moved the offsets too: a write of the value already stored would be a
    // no-op, which rema answers 200 without writing anything.
    t.calibrationOffset = r.offset ?? 0;
  }
}

export interface SiteRef {
  id: string;
  code: string;
  assets: number;
}

export async function sites(pool: pg.Pool): Promise<SiteRef[]> {
  const { rows } = await pool.query<SiteRef>(
    `SELECT s.id, s.code, count(a.id)::int AS assets FROM config.sites s LEFT JOIN config.assets a ON a.site_id = s.id GROUP BY s.id, s.code ORDER BY s.code`,
  );
  return rows;
}

/** Calibration offsets cycle through these: every write is a real change, always in range. */
export const nextOffset = (current: number) => Math.round(((current + 0.1) % 5) * 10) / 10;

/**
 * Waits until the work a big import leaves behind has drained: the configuration events the
 * lifecycle service consumes (sequenced into the config feed, then read and applied), so a
 * measurement does not share the machine with that backlog. Returns the seconds it took, or
 * NaN when this rema has no such feed (then there is nothing to wait for).
 */
export async function waitForEventBacklog(pool: pg.Pool, maxS: number, log: (msg: string) => void): Promise<number> {
  const started = performance.now();
  let last = '';
  for (;;) {
    let state: { unsequenced: number; top: number; position: number | null };
    try {
      const { rows } = await pool.query<{ unsequenced: number; top: number; position: number | null }>(
        `SELECT (SELECT count(*)::int FROM config.outbox WHERE feed_seq IS NULL) AS unsequenced,
                (SELECT coalesce(max(feed_seq), 0)::bigint FROM config.outbox) AS top,
                (SELECT position FROM lifecycle.event_cursors WHERE consumer = 'config-events') AS position`,
      );
      state = rows[0];
    } catch {
      return NaN;
    }
    const waited = (performance.now() - started) / 1000;
    if (state.unsequenced === 0 && state.position !== null && Number(state.position) >= Number(state.top)) return waited;
    if (waited > maxS) {
      log(`event backlog still not drained after ${maxS} s (${JSON.stringify(state)}); measuring anyway`);
      return waited;
    }
    const now = JSON.stringify(state);
    if (now !== last && Math.round(waited) % 10 === 0) log(`waiting for the event backlog: ${now}`);
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Writes PostgreSQL's dirty pages out (`CHECKPOINT`) before a measured run of writes, so each
 * run starts from the same state: none inherits the flush of a seed's gigabytes, and each pays
 * the full-page images of the pages it is first to touch after a checkpoint, instead of the run
 * measured first paying them for the one after it. Needs a superuser (or `pg_checkpoint`); when
 * refused the run goes on and says so once.
 */
export async function checkpoint(pool: pg.Pool, log: (msg: string) => void): Promise<void> {
  try {
    await pool.query('CHECKPOINT');
  } catch (err) {
    if (!checkpointRefused) log(`CHECKPOINT refused (${(err as Error).message}); runs are measured without one`);
    checkpointRefused = true;
  }
}
let checkpointRefused = false;
