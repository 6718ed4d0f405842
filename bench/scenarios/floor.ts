import type pg from 'pg';
import type { AuditActor } from '../../src/audit/types.ts';
import { builtinCatalog } from '../../src/core/catalog/catalog.ts';
import { createWritePath } from '../../src/config/write-path.ts';
import { createPool, poolShares, poolSizeFromEnv } from '../../src/db/pool.ts';
import { closedLoop, type LoopOptions } from '../lib/closed-loop.ts';
import type { WriteTarget } from '../lib/fleet.ts';
import { FloorWriter, normalizeSql } from '../lib/floor-tx.ts';
import type { RunStats } from '../lib/stats.ts';
import { perWorker, primeSites } from './targets.ts';

/**
 * The floor's writer for a whole bench run, on a pool of its own with rema's settings
 * (`createPool`: the size of the pool of rema's writes in `rema serve` unless `connections`
 * says otherwise, the same type parsers). It keeps what its writes left of each
 * site across the run, as rema's server keeps its cache: after the other side wrote a site, each
 * finds its state stale at its next write there.
 */
export function createFloor(databaseUrl: string, actor: AuditActor, connections = remaWriteConnections()): { writer: FloorWriter; end: () => Promise<void> } {
  const pool = createPool(databaseUrl, { max: connections });
  return { writer: new FloorWriter(pool, actor), end: () => pool.end() };
}

/** The size of the pool rema's writes take their connections from: `rema serve` gives the lifecycle service a share of its own. */
export const remaWriteConnections = () => poolShares(poolSizeFromEnv(), true).main;

/**
 * (1) The floor at `concurrency`: rema's write through the driver alone, after one write to each
 * site (`primeSites`; `prime: false` leaves it out) and then `settle`. `alone: false`: every
 * write takes the lock, as rema's do for a site it holds no current copy of.
 */
export async function runFloor(writer: FloorWriter, targets: WriteTarget[], loop: LoopOptions, seed: number, opts: { alone?: boolean; prime?: boolean; settle?: () => Promise<void> } = {}): Promise<RunStats> {
  await writer.load(targets);
  if (opts.prime ?? true) await primeSites(targets, loop.concurrency, (t) => writer.write(t.id, opts));
  await opts.settle?.();
  const next = perWorker(targets, loop.concurrency, seed);
  return closedLoop(loop, async (w) => {
    await writer.write(next(w).id, opts);
    return true;
  });
}

/**
 * The statements of two single-asset configuration writes to one site as rema's write path
 * issues them (run in-process here, on a recording pool: the first takes the lock, the second
 * goes alone on the copy the first left) and as the floor issues them: the floor is only a floor
 * while the two lists are equal. A statement sent before the one
 * ahead of it was answered (pipelined: it shares that one's round trip) is recorded with a
 * leading `+ `, so the two must also take the same round trips.
 */
export async function compareStatements(databaseUrl: string, target: WriteTarget, actor: AuditActor): Promise<{ rema: string[]; floor: string[]; equal: boolean }> {
  const pool = createPool(databaseUrl, { max: 2 });
  const recorded: string[] = [];
  let recording = false;
  /** Records a statement, marked when it goes out while another statement awaits its answer. */
  let unanswered = 0;
  const record = (args: unknown[], query: (...args: unknown[]) => unknown): unknown => {
    const first = args[0] as string | { text: string };
    if (recording) recorded.push(`${unanswered > 0 ? '+ ' : ''}${normalizeSql(typeof first === 'string' ? first : first.text)}`);
    unanswered++;
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      // Callback style (pool.query, and BEGIN when it goes with the next statement): answered when it is called.
      return query(...args.slice(0, last), (...answer: unknown[]) => {
        unanswered--;
        return (callback as (...a: unknown[]) => unknown)(...answer);
      });
    }
    const settled = query(...args) as Promise<unknown>;
    settled.then(
      () => unanswered--,
      () => unanswered--,
    );
    return settled;
  };
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
  // Only promise-style checkouts (the write path's) are recorded; pool.query passes a callback.
  (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => (args.length > 0 ? connect(...args) : recordingCheckout());
  const patched = new WeakSet<pg.PoolClient>();
  const recordingCheckout = async () => {
    const client = await connect();
    if (patched.has(client)) return client;
    patched.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult>;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => record(args, query);
    return client;
  };
  try {
    const writePath = createWritePath({ pool, catalog: builtinCatalog() });
    const ctx = { actor, requestId: 'bench-statements', sourceIp: '127.0.0.1' };
    const { rows } = await pool.query<{ version: number; offset: number }>(`SELECT version, (config->>'calibrationOffset')::float8 AS offset FROM config.assets WHERE id = $1`, [target.id]);
    let version = rows[0].version;
    let offset = rows[0].offset;
    recording = true;
    for (let i = 0; i < 2; i++) {
      offset = Math.round(((offset + 0.1) % 5) * 10) / 10;
      const out = await writePath.execute(
        // As PATCH /v1/assets/{id} asks: the site is the asset's, found by the lock statement.
        { siteId: { asset: target.id }, operations: [{ op: 'updateAsset', id: target.id, expectedVersion: version, patch: { config: { calibrationOffset: offset } } }] },
        ctx,
      );
      version = out.graph.assets.get(target.id)?.version ?? version + 1;
    }
    recording = false;
    const rema = [...recorded];
    recorded.length = 0;
    const writer = new FloorWriter(pool, actor);
    await writer.load([target]);
    // Its checkout is the recording one too.
    recording = true;
    await writer.write(target.id);
    await writer.write(target.id);
    recording = false;
    const floor = [...recorded];
    return { rema, floor, equal: rema.length === floor.length && rema.every((s, i) => s === floor[i]) };
  } finally {
    await pool.end();
  }
}
