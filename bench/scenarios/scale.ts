import type pg from 'pg';
import type { AuditActor } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { LoopOptions } from '../lib/closed-loop.ts';
import { checkpoint, refreshVersions, seedFleet, waitForEventBacklog, writeTargets, type SeedResult, type WriteTarget } from '../lib/fleet.ts';
import type { FloorWriter } from '../lib/floor-tx.ts';
import { Api, type HttpClientKind } from '../lib/http.ts';
import { cpuMeter, dbCounters, loadavg1 } from '../lib/machine.ts';
import { RssSampler, startServer, type ServerProcess } from '../lib/server.ts';
import type { RunStats } from '../lib/stats.ts';
import { createFloor, runFloor } from './floor.ts';
import { runWrites } from './writes.ts';

/**
 * (4) Fleet-size scaling: the same writes on a fleet ten times as large, in a database of its own
 * beside the reference fleet's, so that the two are measured in turns — this machine's speed
 * drifts over minutes, and a ratio of two runs taken minutes apart would measure the drift too.
 */

/** What the large fleet's side has started, for the caller to stop and drop however the run ends. */
export interface LargeFleet {
  db?: TestDatabase;
  server?: ServerProcess;
  api?: Api;
  floor?: ReturnType<typeof createFloor>;
}

/** One fleet as (4) writes it: rema through `api`, the floor through `floor`. */
export interface ScaleFleet {
  pool: pg.Pool;
  targets: WriteTarget[];
  api: Api;
  floor: FloorWriter;
  /** The closed loop's clients and durations, and the meters of this fleet's server and database. */
  loop: LoopOptions;
}

export interface ScaleOptions {
  /** The reference fleet, with its server of (2) still running. */
  reference: ScaleFleet;
  /** The large fleet: its size, and how its server runs (docs/operations.md, "Memory"). */
  large: { sites: number; assets: number; env: Record<string, string>; cacheEntities: number };
  /** The closed loop of every run, without meters. */
  loop: Omit<LoopOptions, 'cpu' | 'counters'>;
  rounds: number;
  seedConcurrency: number;
  /** How long to wait for the lifecycle service to consume the large fleet's seed. */
  seedBacklogS: number;
  server: { mqttUrl: string; token: string; cpuProfDir?: string; httpClient: HttpClientKind };
  /** Filled as the large fleet's database, servers and floor are made. */
  started: LargeFleet;
  log: (msg: string) => void;
  fmt: (s: RunStats) => string;
}

/** A figure with the 1-minute load average where it was taken. */
type Loaded<T> = T & { load: number };

export interface ScaleResult {
  seed: Loaded<{ run: SeedResult; backlogS: number }>;
  /** The large fleet as the sites come after the seed: none held by either side. */
  cold: Loaded<{ floor: RunStats; rema: RunStats }>;
  /** Each side's runs in turns, in the order of the rounds. */
  turns: Loaded<Record<'reference' | 'large', { floor: RunStats[]; rema: RunStats[] }>>;
  /** Peak RSS of the large fleet's server during rema's runs on it. */
  peakRssMb: number;
  largeTargets: number;
}

/**
 * Seeds the large fleet into a database of its own through a server with the launcher's defaults
 * (as the reference fleet was), then serves it from a fresh server with the large fleet's settings,
 * holding no site yet. Measures (1) and (2) on it once as they come, then the four sides in turns —
 * the floor on one fleet and on the other, rema on one and on the other; the reference fleet first
 * in odd rounds, the large one in even rounds, so that a steady drift favours neither — each run
 * after one write to each of its sites, and after both servers have consumed every event queued so
 * far and a `CHECKPOINT`.
 */
export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const { log, fmt, started, server } = opts;
  let load = loadavg1();
  const db = await createTestDatabase();
  started.db = db;
  const dbName = new URL(db.url).pathname.slice(1);
  log(`database for the large fleet ${db.url.replace(/\/\/[^@]*@/, '//')}`);
  started.server = await startServer({ databaseUrl: db.url, mqttUrl: server.mqttUrl, token: server.token, cpuProfDir: server.cpuProfDir });
  const seeded = await seedFleet({ url: started.server.url, token: server.token, sites: opts.large.sites, assets: opts.large.assets, prefix: 'B', concurrency: opts.seedConcurrency });
  log(`seeded the large fleet, ${seeded.assets} assets, in ${seeded.wallS.toFixed(1)} s`);
  const backlogS = await waitForEventBacklog(db.pool, opts.seedBacklogS, log);
  log(`event backlog of the large fleet's seed drained ${Number.isNaN(backlogS) ? '(no event feed)' : `in ${backlogS.toFixed(1)} s`}`);
  const seed = { run: seeded, backlogS, load };
  await started.server.stop();
  started.server = undefined;

  const bigServer = await startServer({ databaseUrl: db.url, mqttUrl: server.mqttUrl, token: server.token, cpuProfDir: server.cpuProfDir, env: opts.large.env });
  started.server = bigServer;
  started.api = new Api(bigServer.url, server.token, 64, server.httpClient);
  log(`rema serve pid ${bigServer.pid} on ${bigServer.url} for the large fleet (${Object.entries(opts.large.env).map(([k, v]) => `${k}=${v}`).join(' ')})`);
  const targets = await writeTargets(db.pool);
  const actor = (await db.pool.query<{ actor: AuditActor }>(`SELECT actor FROM audit.events WHERE service = 'config' AND entity_type = 'asset' LIMIT 1`)).rows[0].actor;
  started.floor = createFloor(db.url, actor);
  started.floor.writer.maxEntities = opts.large.cacheEntities;
  const large: ScaleFleet = {
    pool: db.pool,
    targets,
    api: started.api,
    floor: started.floor.writer,
    loop: { ...opts.loop, cpu: cpuMeter(bigServer.pid, dbName), counters: dbCounters(db.pool, dbName) },
  };
  const { reference } = opts;
  // The server not measured would otherwise consume the last run's events in this one's window.
  const settle = async () => {
    await waitForEventBacklog(reference.pool, 120, log);
    await waitForEventBacklog(large.pool, 120, log);
    await checkpoint(large.pool, log);
    load = loadavg1();
  };
  const c = opts.loop.concurrency;

  const coldFloor = await runFloor(large.floor, targets, large.loop, 2000 + c, { prime: false, settle });
  await refreshVersions(large.pool, targets);
  const coldRema = await runWrites(large.api, targets, large.loop, 2000 + c, { prime: false, settle });
  log(`scale floor, sites not held, c=${c}: ${fmt(coldFloor)}`);
  log(`scale rema,  sites not held, c=${c}: ${fmt(coldRema)}`);
  const cold = { floor: coldFloor, rema: coldRema, load };

  const fleets = { reference, large };
  const turns = { reference: { floor: [] as RunStats[], rema: [] as RunStats[] }, large: { floor: [] as RunStats[], rema: [] as RunStats[] } };
  const rss = new RssSampler(bigServer.pid);
  let peakRssMb = 0;
  for (let round = 0; round < opts.rounds; round++) {
    const seedOfRound = 1000 + c + round;
    const order = round % 2 === 0 ? (['reference', 'large'] as const) : (['large', 'reference'] as const);
    for (const side of order) {
      const f = fleets[side];
      const s = await runFloor(f.floor, f.targets, f.loop, seedOfRound, { settle });
      turns[side].floor.push(s);
      log(`scale floor ${side}, round ${round + 1}: ${fmt(s)}`);
    }
    for (const side of order) {
      const f = fleets[side];
      await refreshVersions(f.pool, f.targets);
      const s = await runWrites(f.api, f.targets, f.loop, seedOfRound, {
        settle: async () => {
          await settle();
          if (side === 'large') rss.start();
        },
      });
      if (side === 'large') peakRssMb = Math.max(peakRssMb, rss.stop());
      turns[side].rema.push(s);
      log(`scale rema  ${side}, round ${round + 1}: ${fmt(s)}`);
    }
  }
  return { seed, cold, turns: { ...turns, load }, peakRssMb, largeTargets: targets.length };
}
