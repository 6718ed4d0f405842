/**
 * `npm run bench`: rema against the database under it, in one run, on a fresh database.
 * `npm run bench -- --quick` smokes every scenario in well under a minute.
 *
 * Options: --quick, --cpu-prof (profiles of the server under bench/results/prof), --skip a,b
 * (scenarios: floor, writes, changesets, reads, rollout, scale), --wait-load X (wait up to 5 min
 * for the 1-minute load average to drop to X before starting), --save-baseline, --keep-db;
 * to try things out: --sites N --assets N --duration S --concurrency 1,16,64; --instances N also
 * runs (2) over N servers on the one database, the clients split between them; --http-client
 * undici drives rema with undici instead of the bench's own HTTP/1.1 client (lib/http.ts).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { AuditActor } from '../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../src/db/test-database.ts';
import { closeMqtt, connectMqtt, waitForConnection } from '../src/mqtt/client.ts';
import { Api, type HttpClientKind } from './lib/http.ts';
import { checkpoint, refreshVersions, seedFleet, sites as listSites, waitForEventBacklog, writeTargets } from './lib/fleet.ts';
import { cpuMeter, dbCounters, loadavg1, machineInfo, waitForLowLoad } from './lib/machine.ts';
import { currentRssMb, RssSampler, startServer, type ServerProcess } from './lib/server.ts';
import { meanStats, type RunStats } from './lib/stats.ts';
import { changesetGroups, runChangesets } from './scenarios/changesets.ts';
import { compareStatements, createFloor, remaWriteConnections, runFloor } from './scenarios/floor.ts';
import { runReads, type ReadKind } from './scenarios/reads.ts';
import { runRollout } from './scenarios/rollout.ts';
import { runScale, type LargeFleet } from './scenarios/scale.ts';
import { runWrites } from './scenarios/writes.ts';
import { formatStats as fmtStats, markdownTable, meetsGoal, printTable, type Row } from './lib/report.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('quick');
const skip = new Set((option('skip') ?? '').split(',').filter(Boolean));
const TOKEN = `rema_bench_${process.pid}_token_for_full_rights`;
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

const size = quick
  ? { sites: 6, assets: 360, bigSites: 54, bigAssets: 3240, seedConcurrency: 4, warmupMs: 200, durationMs: 1000, readMs: 400, maxOps: 20_000, rolloutTimeoutS: 60 }
  : { sites: 500, assets: 25_000, bigSites: 4_500, bigAssets: 225_000, seedConcurrency: 8, warmupMs: 2000, durationMs: 10_000, readMs: 4000, maxOps: 200_000, rolloutTimeoutS: 300 };
if (option('sites')) size.sites = Number(option('sites'));
if (option('assets')) size.assets = Number(option('assets'));
if (option('duration')) size.durationMs = Number(option('duration')) * 1000;
const CONCURRENCY = (option('concurrency') ?? '1,16,64').split(',').map(Number);
const INSTANCES = Number(option('instances') ?? 1);
const HTTP_CLIENT = (option('http-client') ?? 'wire') as HttpClientKind;
if (HTTP_CLIENT !== 'wire' && HTTP_CLIENT !== 'undici') throw new Error(`--http-client is wire or undici, not ${String(HTTP_CLIENT)}`);

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main() {
  const started = Date.now();
  const waitLoad = option('wait-load');
  if (waitLoad) await waitForLowLoad(Number(waitLoad), 300, log);
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { machine: machineInfo(), quick, startedAt: new Date().toISOString(), loadAtStart: loadavg1(), httpClient: HTTP_CLIENT };
  const baseline = !quick && existsSync(path.join(RESULTS, 'baseline.json')) ? (JSON.parse(readFileSync(path.join(RESULTS, 'baseline.json'), 'utf8')) as { rows: Row[] }) : undefined;
  const baseOf = (key: string) => baseline?.rows.find((r) => r.key === key)?.value;
  mkdirSync(RESULTS, { recursive: true });
  const resultFile = path.join(RESULTS, quick ? 'latest-quick.json' : 'latest.json');
  // Saved after every figure: a run cut short (the shared database restarted, say) keeps what it measured.
  const save = () => writeFileSync(resultFile, `${JSON.stringify({ ...raw, rows }, null, 2)}\n`);
  const add = (r: Omit<Row, 'baseline' | 'load'> & { load?: number }) => {
    rows.push({ ...r, baseline: baseOf(r.key), load: r.load ?? loadavg1() });
    save();
  };

  await assertBroker();
  const db = await createTestDatabase();
  run.db = db;
  log(`database ${db.url.replace(/\/\/[^@]*@/, '//')}`);
  const dbName = new URL(db.url).pathname.slice(1);
  const pg = await db.pool.query<{ server_version: string }>(`SHOW server_version`);
  raw.postgres = pg.rows[0].server_version;
  const cpuProfDir = flag('cpu-prof') ? path.join(RESULTS, 'prof') : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const server = await startServer({ databaseUrl: db.url, mqttUrl: MQTT_URL, token: TOKEN, cpuProfDir });
  run.server = server;
  log(`rema serve pid ${server.pid} on ${server.url} (log ${server.logFile}), RSS ${currentRssMb(server.pid).toFixed(0)} MB`);
  const api = new Api(server.url, TOKEN, 64, HTTP_CLIENT);
  run.api = api;
  const meter = cpuMeter(server.pid, dbName);
  // Before each measured run of writes (and before the change sets and the reads): neither side
  // of a ratio shares the machine with consuming the other's events, and each starts right
  // after a checkpoint.
  const settle = async () => {
    await waitForEventBacklog(db.pool, 120, log);
    await checkpoint(db.pool, log);
  };
  // The same, where a measured run begins (after its priming): the load average read there.
  let load = loadavg1();
  const settleHere = async () => {
    await settle();
    load = loadavg1();
  };
  try {
    // (5) The reference fleet through the write path.
    const seedRss = new RssSampler(server.pid).start();
    const seeded = await seedFleet({ url: server.url, token: TOKEN, sites: size.sites, assets: size.assets, concurrency: size.seedConcurrency });
    raw.seed = { ...seeded, output: undefined, peakRssMb: seedRss.stop() };
    log(`seeded ${seeded.assets} assets in ${seeded.wallS.toFixed(1)} s (${seeded.assetsPerS} assets/s while uploading)`);
    add({ key: 'seed.wallS', id: '5', scenario: `rema seed: ${size.assets.toLocaleString('en')} assets, ${size.sites} sites`, metric: 'seconds (whole command)', value: seeded.wallS, goal: { max: 20 }, load });
    add({ key: 'seed.assetsPerS', id: '5', scenario: '', metric: 'assets/s (whole command)', value: size.assets / seeded.wallS, load });

    const drained = await waitForEventBacklog(db.pool, quick ? 30 : 300, log);
    raw.seedBacklogS = drained;
    log(`event backlog of the seed drained ${Number.isNaN(drained) ? '(no event feed)' : `in ${drained.toFixed(1)} s`}`);
    if (!Number.isNaN(drained)) add({ key: 'seed.backlogS', id: '5', scenario: '', metric: 's more until its events are consumed', value: drained });

    const targets = await writeTargets(db.pool);
    const fleetSites = await listSites(db.pool);
    const actor = (await db.pool.query<{ actor: AuditActor }>(`SELECT actor FROM audit.events WHERE service = 'config' AND entity_type = 'asset' LIMIT 1`)).rows[0].actor;
    log(`${targets.length} sensors in service to write, ${fleetSites.length} sites`);

    const statements = await compareStatements(db.url, targets[targets.length - 1], actor);
    raw.statements = statements;
    log(`floor statements ${statements.equal ? 'match' : 'DIFFER FROM'} rema's (two writes to one site, ${statements.rema.length} statements)`);
    if (!statements.equal) {
      log(`rema:  ${statements.rema.map((s) => s.slice(0, 60)).join('\n       ')}`);
      log(`floor: ${statements.floor.map((s) => s.slice(0, 60)).join('\n       ')}`);
    }

    // One floor writer for the run: like rema's server, it keeps its state of each site from run to run.
    const floorWriter = () => (run.floor ??= createFloor(db.url, actor)).writer;

    /** WAL and block reads per write, rema's beside the floor's: what the database did for each. */
    const addCounters = (key: string, id: string, s: RunStats, floor: RunStats | undefined) => {
      const c = s.countersPerOp;
      if (c?.walBytes === undefined) return;
      const f = floor?.countersPerOp;
      add({ key: `${key}.wal.kb`, id, scenario: '', metric: 'WAL kB/write', value: c.walBytes / 1024, floor: f && f.walBytes / 1024, load });
      add({ key: `${key}.wal.fpi`, id, scenario: '', metric: 'full-page images/write', value: c.walFpi, floor: f?.walFpi, load });
      add({ key: `${key}.blocks.read`, id, scenario: '', metric: 'blocks read/write', value: c.blocksRead, floor: f?.blocksRead, load });
    };
    const counters = dbCounters(db.pool, dbName);

    /** The rows of one measured run of (2): with `goalsAt`, the concurrency whose goals apply. */
    const addWrites = (key: string, scenario: string, s: RunStats, floor: RunStats | undefined, goalsAt?: number) => {
      const hot = goalsAt !== undefined && goalsAt >= 16;
      add({ key: `${key}.rate`, id: '2', scenario, metric: 'writes/s', value: s.rate, floor: floor?.rate, goal: hot ? { min: 1000 } : undefined, load });
      add({ key: `${key}.ratio`, id: '2', scenario: '', metric: 'ratio to floor', value: floor ? s.rate / floor.rate : NaN, goal: hot ? { min: 0.5 } : undefined, load });
      add({ key: `${key}.p50`, id: '2', scenario: '', metric: 'p50 ms', value: s.p50, floor: floor?.p50, load });
      add({ key: `${key}.p95`, id: '2', scenario: '', metric: 'p95 ms', value: s.p95, floor: floor?.p95, load });
      add({ key: `${key}.p99`, id: '2', scenario: '', metric: 'p99 ms', value: s.p99, floor: floor?.p99, goal: goalsAt === 16 ? { max: 25 } : undefined, load });
      if (s.cpuMsPerOp) {
        add({ key: `${key}.cpu.rema`, id: '2', scenario: '', metric: 'rema server CPU ms/write', value: s.cpuMsPerOp.rema, load });
        add({ key: `${key}.cpu.db`, id: '2', scenario: '', metric: 'PostgreSQL CPU ms/write', value: s.cpuMsPerOp.postgres, floor: floor?.cpuMsPerOp?.postgres, load });
      }
      addCounters(key, '2', s, floor);
      if (s.errors) add({ key: `${key}.errors`, id: '2', scenario: '', metric: 'refused/failed', value: s.errors, load });
    };

    // (1) and (2), interleaved per concurrency so both see the same machine.
    const writeRss = new RssSampler(server.pid);
    let writePeak = 0;
    const writeStats: Record<number, { floor?: RunStats; floorLocked?: RunStats; rema?: RunStats; instances?: RunStats }> = {};
    // --instances N: N − 1 more servers on the same database, for (2) only.
    if (INSTANCES > 1 && !skip.has('writes')) {
      for (let i = 1; i < INSTANCES; i++) {
        const more = await startServer({ databaseUrl: db.url, mqttUrl: MQTT_URL, token: TOKEN, cpuProfDir });
        run.extra.push({ server: more, api: new Api(more.url, TOKEN, 64, HTTP_CLIENT) });
        log(`rema serve pid ${more.pid} on ${more.url} (instance ${i + 1} of ${INSTANCES})`);
      }
    }
    for (const c of CONCURRENCY) {
      const loop = { concurrency: c, durationMs: size.durationMs, maxOps: size.maxOps, warmupMs: size.warmupMs, cpu: meter, counters };
      const entry: { floor?: RunStats; floorLocked?: RunStats; rema?: RunStats; instances?: RunStats } = {};
      if (!skip.has('floor')) {
        log(`floor   c=${c}: running`);
        entry.floor = await runFloor(floorWriter(), targets, loop, c, { settle: settleHere });
        log(`floor   c=${c}: ${fmtStats(entry.floor)}`);
        add({ key: `floor.c${c}.tps`, id: '1', scenario: `floor: write transaction via pg, ${c} client(s)`, metric: 'transactions/s', value: entry.floor.rate, load });
        add({ key: `floor.c${c}.p99`, id: '1', scenario: '', metric: 'p99 ms', value: entry.floor.p99, load });
        if (c === 16) {
          // For comparison: the transaction every write was before writes went alone to sites held.
          log(`floor, every write locked, c=${c}: running`);
          const locked = await runFloor(floorWriter(), targets, loop, c, { alone: false, settle: settleHere });
          entry.floorLocked = locked;
          log(`floor, every write locked, c=${c}: ${fmtStats(locked)}`);
          add({ key: `floor.locked.c${c}.tps`, id: '1', scenario: `floor with every write locked, ${c} clients`, metric: 'transactions/s', value: locked.rate, load });
          add({ key: `floor.locked.c${c}.p99`, id: '1', scenario: '', metric: 'p99 ms', value: locked.p99, load });
          // For comparison: the floor with a connection for each client, however few rema's pool has.
          log(`floor, ${c} connections, c=${c}: running`);
          const wide = createFloor(db.url, actor, c);
          try {
            const s = await runFloor(wide.writer, targets, loop, c, { settle: settleHere });
            log(`floor, ${c} connections, c=${c}: ${fmtStats(s)}`);
            add({ key: `floor.wide.c${c}.tps`, id: '1', scenario: `floor on ${c} connections (rema's writes: ${remaWriteConnections()}), ${c} clients`, metric: 'transactions/s', value: s.rate, load });
            add({ key: `floor.wide.c${c}.p99`, id: '1', scenario: '', metric: 'p99 ms', value: s.p99, load });
          } finally {
            await wide.end();
          }
        }
      }
      if (!skip.has('writes')) {
        await refreshVersions(db.pool, targets);
        log(`rema    c=${c}: running`);
        entry.rema = await runWrites(api, targets, loop, c, {
          settle: async () => {
            await settleHere();
            writeRss.start();
          },
        });
        writePeak = Math.max(writePeak, writeRss.stop());
        log(`rema    c=${c}: ${fmtStats(entry.rema)}`);
        addWrites(`writes.c${c}`, `rema PATCH + If-Match, ${c} client(s)`, entry.rema, entry.floor, c);
        if (run.extra.length > 0) {
          await refreshVersions(db.pool, targets);
          await settleHere();
          const servers = [server, ...run.extra.map((x) => x.server)];
          log(`rema ×${servers.length} c=${c}: running`);
          const multi = await runWrites([api, ...run.extra.map((x) => x.api)], targets, { ...loop, cpu: cpuMeter(servers.map((x) => x.pid), dbName) }, c);
          entry.instances = multi;
          log(`rema ×${servers.length} c=${c}: ${fmtStats(multi)}`);
          addWrites(`writes.c${c}.instances`, `the same over ${servers.length} instances, ${c} client(s)`, multi, entry.floor);
        }
      }
      writeStats[c] = entry;
    }
    raw.writes = writeStats;
    // The other scenarios measure one instance: the others' background work would share the machine.
    await stopExtra();
    if (!skip.has('writes')) add({ key: 'memory.writes', id: '8', scenario: 'server peak RSS during (2)', metric: 'MB', value: writePeak, goal: { max: 300 } });

    // (3) Change sets of 20 operations.
    if (!skip.has('changesets')) {
      await settle();
      await refreshVersions(db.pool, targets);
      const groups = changesetGroups(targets);
      raw.changesets = {};
      for (const c of [1, 16]) {
        load = loadavg1();
        const s = await runChangesets(api, groups, { concurrency: Math.min(c, groups.length), durationMs: size.durationMs / 2, maxOps: size.maxOps, warmupMs: size.warmupMs / 2 }, c);
        (raw.changesets as Record<number, RunStats>)[c] = s;
        log(`changesets c=${c}: ${fmtStats(s)} (${groups.length} groups)`);
        add({ key: `changesets.c${c}.rate`, id: '3', scenario: `change sets of 20 ops, ${c} client(s)`, metric: 'change sets/s', value: s.rate, load });
        add({ key: `changesets.c${c}.p50`, id: '3', scenario: '', metric: 'p50 ms', value: s.p50, load });
        add({ key: `changesets.c${c}.p99`, id: '3', scenario: '', metric: 'p99 ms', value: s.p99, load });
      }
    }

    // (6) Reads, once the events of the change sets before them are consumed and flushed: the
    // lifecycle service's catching up would otherwise share the machine with them.
    if (!skip.has('reads')) {
      await settle();
      raw.reads = {};
      const labels: Record<ReadKind, string> = { asset: 'GET one asset', list: 'GET filtered list page (50)', graph: 'GET site graph' };
      for (const kind of ['asset', 'list', 'graph'] as const) {
        for (const c of [1, 16]) {
          load = loadavg1();
          // Each client reads sites of its own (bench/scenarios/targets.ts): the quick run's
          // fleet has fewer sites than clients, and a client with none would fail at once.
          const clients = kind === 'asset' ? c : Math.min(c, fleetSites.length);
          const s = await runReads(api, kind, targets, fleetSites, { concurrency: clients, durationMs: size.readMs, maxOps: size.maxOps, warmupMs: size.warmupMs / 4, cpu: meter }, c);
          (raw.reads as Record<string, RunStats>)[`${kind}.c${c}`] = s;
          log(`read ${kind} c=${c}: ${fmtStats(s)}`);
          add({ key: `reads.${kind}.c${c}.p50`, id: '6', scenario: `${labels[kind]}, ${clients} client(s)`, metric: 'p50 ms', value: s.p50, load });
          add({ key: `reads.${kind}.c${c}.p99`, id: '6', scenario: '', metric: 'p99 ms', value: s.p99, goal: kind === 'asset' ? { max: 5 } : undefined, load });
          add({ key: `reads.${kind}.c${c}.rate`, id: '6', scenario: '', metric: 'requests/s', value: s.rate, load });
          if (s.cpuMsPerOp) add({ key: `reads.${kind}.c${c}.cpu.rema`, id: '6', scenario: '', metric: 'rema server CPU ms/read', value: s.cpuMsPerOp.rema, load });
        }
      }
    }

    // (4) Fleet-size scaling, in turns with the reference fleet (scenarios/scale.ts): before the
    // rollout, so that both fleets are measured in the same state, never deployed.
    if (!skip.has('scale')) {
      const c = 16;
      const bigSites = size.sites + size.bigSites;
      const bigAssets = size.assets + size.bigAssets;
      const loop = { concurrency: c, durationMs: size.durationMs, maxOps: size.maxOps, warmupMs: size.warmupMs };
      const scale = await runScale({
        reference: { pool: db.pool, targets, api, floor: floorWriter(), loop: { ...loop, cpu: meter, counters } },
        large: { sites: bigSites, assets: bigAssets, env: BIG_FLEET_ENV, cacheEntities: Number(BIG_FLEET_ENV.REMA_SITE_CACHE_ENTITIES) },
        loop,
        rounds: quick ? 1 : SCALE_ROUNDS,
        seedConcurrency: size.seedConcurrency,
        seedBacklogS: quick ? 30 : 600,
        server: { mqttUrl: MQTT_URL, token: TOKEN, cpuProfDir, httpClient: HTTP_CLIENT },
        started: run.big,
        log,
        fmt: fmtStats,
      });
      const { seed, cold, turns } = scale;
      raw.seedBig = { ...seed.run, output: undefined };
      raw.seedBigBacklogS = seed.backlogS;
      raw.scale = { cold, turns, targets: scale.largeTargets, peakRssMb: scale.peakRssMb };
      add({ key: 'seed.large.assetsPerS', id: '5', scenario: `rema seed: the large fleet, ${bigAssets.toLocaleString('en')} assets, ${bigSites.toLocaleString('en')} sites`, metric: 'assets/s (whole command)', value: bigAssets / seed.run.wallS, load: seed.load });
      load = cold.load;
      add({ key: 'scale.cold.rate', id: '4', scenario: `writes on ${bigAssets.toLocaleString('en')} assets, sites not yet held, ${c} clients`, metric: 'writes/s', value: cold.rema.rate, floor: cold.floor.rate, load });
      add({ key: 'scale.cold.p50', id: '4', scenario: '', metric: 'p50 ms', value: cold.rema.p50, floor: cold.floor.p50, load });
      add({ key: 'scale.cold.p99', id: '4', scenario: '', metric: 'p99 ms', value: cold.rema.p99, floor: cold.floor.p99, load });
      addCounters('scale.cold', '4', cold.rema, cold.floor);

      load = turns.load;
      const smallFloor = meanStats(turns.reference.floor);
      const floor = meanStats(turns.large.floor);
      const small = meanStats(turns.reference.rema);
      const rema = meanStats(turns.large.rema);
      const inK = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(0)}k` : String(n));
      const small4 = inK(size.assets);
      const big4 = inK(bigAssets);
      const inTurns = `${c} clients, in turns (mean of ${turns.reference.rema.length})`;
      const addSide = (key: string, assets: number, r: RunStats, f: RunStats) => {
        add({ key: `${key}.rate`, id: '4', scenario: `writes on ${assets.toLocaleString('en')} assets, ${inTurns}`, metric: 'writes/s', value: r.rate, floor: f.rate, load });
        add({ key: `${key}.p50`, id: '4', scenario: '', metric: 'p50 ms', value: r.p50, floor: f.p50, load });
        add({ key: `${key}.p99`, id: '4', scenario: '', metric: 'p99 ms', value: r.p99, floor: f.p99, load });
        if (r.cpuMsPerOp) {
          add({ key: `${key}.cpu.rema`, id: '4', scenario: '', metric: 'rema server CPU ms/write', value: r.cpuMsPerOp.rema, load });
          add({ key: `${key}.cpu.db`, id: '4', scenario: '', metric: 'PostgreSQL CPU ms/write', value: r.cpuMsPerOp.postgres, floor: f.cpuMsPerOp?.postgres, load });
        }
        addCounters(key, '4', r, f);
      };
      addSide('scale.small', size.assets, small, smallFloor);
      addSide('scale', bigAssets, rema, floor);
      // The database's own share: the same ratios for the floor, measured in the same turns.
      add({ key: 'scale.floor.ratio.p50', id: '4', scenario: `floor latency ratio ${big4} / ${small4} assets`, metric: 'p50 ratio', value: floor.p50 / smallFloor.p50, load });
      add({ key: 'scale.floor.ratio.mean', id: '4', scenario: '', metric: 'mean latency ratio (1/throughput)', value: smallFloor.rate / floor.rate, load });
      add({ key: 'scale.ratio.p50', id: '4', scenario: `latency ratio ${big4} / ${small4} assets`, metric: 'p50 ratio', value: rema.p50 / small.p50, goal: { max: 1.2 }, load });
      add({ key: 'scale.ratio.mean', id: '4', scenario: '', metric: 'mean latency ratio (1/throughput)', value: small.rate / rema.rate, goal: { max: 1.2 }, load });
      add({ key: 'scale.ratio.p99', id: '4', scenario: '', metric: 'p99 ratio', value: rema.p99 / small.p99, load });
      // What rema adds to the database's time per write (mean latency = clients / throughput), on each fleet:
      // near zero, or below, where rema keeps up with the floor — a ratio of two such figures says nothing.
      const added = (r: RunStats, f: RunStats) => (1000 * c) / r.rate - (1000 * c) / f.rate;
      add({ key: 'scale.own.small', id: '4', scenario: `rema's own time per write (mean latency − the floor's)`, metric: `ms on ${small4} assets`, value: added(small, smallFloor), load });
      add({ key: 'scale.own.big', id: '4', scenario: '', metric: `ms on ${big4} assets`, value: added(rema, floor), load });
      add({ key: 'memory.scale', id: '8', scenario: 'server peak RSS during (4)', metric: 'MB', value: scale.peakRssMb });
      // The rollout measures the reference fleet's server alone: the other would take every
      // gateway's acks from the broker too.
      await stopBig();
    }

    // (7) Rollout to the whole reference fleet.
    if (!skip.has('rollout')) {
      load = loadavg1();
      const rss = new RssSampler(server.pid).start();
      const r = await runRollout({ api, pool: db.pool, mqttUrl: MQTT_URL, sites: fleetSites, latencyMs: 50, timeoutS: size.rolloutTimeoutS, log });
      const peak = rss.stop();
      raw.rollout = { ...r, peakRssMb: peak };
      log(`rollout: ${JSON.stringify(r)}`);
      add({ key: 'rollout.acked', id: '7', scenario: `rollout: ${r.targets.toLocaleString('en')} devices, ${r.gateways} gateways`, metric: 's until every device acked', value: r.devicesAckedS, load });
      add({ key: 'rollout.recorded', id: '7', scenario: '', metric: 's until all recorded deployed', value: r.recordedS, goal: { max: 60 }, load });
      add({ key: 'memory.rollout', id: '8', scenario: 'server peak RSS during (7)', metric: 'MB', value: peak, goal: { max: 300 } });
    }

  } finally {
    await cleanUp();
  }

  raw.rows = rows;
  raw.elapsedS = (Date.now() - started) / 1000;
  raw.loadAtEnd = loadavg1();
  printTable(rows, raw.machine as ReturnType<typeof machineInfo>, String(raw.postgres), quick);
  save();
  writeFileSync(path.join(RESULTS, quick ? 'latest-quick.md' : 'latest.md'), markdownTable(rows));
  if (flag('save-baseline') && !quick) {
    // Merged into an existing baseline, so a baseline can be taken in parts (--skip).
    const merged = [...(baseline?.rows.filter((b) => !rows.some((r) => r.key === b.key)) ?? []), ...rows.map((r) => ({ ...r, baseline: undefined }))];
    writeFileSync(path.join(RESULTS, 'baseline.json'), `${JSON.stringify({ rows: merged, machine: raw.machine, startedAt: raw.startedAt }, null, 2)}\n`);
  }
  log(`done in ${(raw.elapsedS as number).toFixed(0)} s; results in bench/results/${quick ? 'latest-quick' : 'latest'}.json`);
  const failed = rows.filter((r) => meetsGoal(r.value, r.goal) === 'NO');
  if (failed.length) log(`goals missed: ${failed.map((r) => r.key).join(', ')}`);
}

async function assertBroker() {
  const client = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-bench-probe' });
  const ok = await waitForConnection(client, 3000);
  await closeMqtt(client);
  if (!ok) throw new Error(`no MQTT broker at ${MQTT_URL}: start Mosquitto (see README) or set MQTT_URL`);
}

/** How many times (4) measures each of its four sides, in turns. */
const SCALE_ROUNDS = 2;

/** How (4) runs rema on the 250,000-asset fleet: docs/operations.md, "Memory". */
const BIG_FLEET_ENV = { REMA_SITE_CACHE_ENTITIES: '600000', REMA_NODE_OPTIONS: '--max-old-space-size=1024 --max-semi-space-size=16 --no-allocation-site-pretenuring' };

/** What the run has started, for {@link cleanUp}. */
const run: {
  db?: TestDatabase;
  server?: ServerProcess;
  api?: Api;
  floor?: ReturnType<typeof createFloor>;
  extra: { server: ServerProcess; api: Api }[];
  /** (4)'s large fleet: its database, server and floor. */
  big: LargeFleet;
  ended?: Promise<void>;
} = { extra: [], big: {} };

/** Stops the servers of --instances beyond the first. */
async function stopExtra(): Promise<void> {
  const extra = run.extra.splice(0);
  await Promise.all(extra.map(async (x) => {
    await x.api.close();
    await x.server.stop();
  }));
}

/** Stops (4)'s large fleet's server and floor; its database goes with the run's (or is kept with --keep-db). */
async function stopBig(): Promise<void> {
  const { api, server, floor } = run.big;
  run.big = { db: run.big.db };
  for (const r of await Promise.allSettled([api?.close(), server?.stop(), floor?.end()])) {
    if (r.status === 'rejected') log(`stopping the large fleet's server: ${String(r.reason)}`);
  }
}

/**
 * Stops the server and drops the database, once: when the run ends, and when it is interrupted —
 * a server left running by a killed run would share the machine with every later one.
 */
function cleanUp(): Promise<void> {
  run.ended ??= (async () => {
    // Each step whatever the one before it did: a client that fails to close must not leave a
    // server running or a database behind.
    const settled = async (steps: Array<Promise<unknown> | undefined>) => {
      for (const r of await Promise.allSettled(steps)) if (r.status === 'rejected') log(`cleaning up: ${String(r.reason)}`);
    };
    await settled([stopExtra(), stopBig()]);
    await settled([run.api?.close()]);
    await settled([run.server?.stop()]);
    await settled([run.floor?.end()]);
    for (const db of [run.db, run.big.db]) {
      if (!db) continue;
      if (flag('keep-db')) log(`kept database ${db.url}`);
      else await settled([db.drop()]);
    }
  })();
  return run.ended;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the server and dropping the database`);
    // Connections of the interrupted scenario fail as the database goes: expected now, not a crash.
    process.on('uncaughtException', (err) => log(`while stopping: ${err.message}`));
    setTimeout(() => process.exit(1), 30_000).unref();
    cleanUp()
      .catch((err: unknown) => log(`cleaning up failed: ${String(err)}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

// A broker or database blip of the shared machine must not end the run without its figures.
process.on('unhandledRejection', (err) => log(`unhandled rejection (ignored): ${String(err)}`));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
