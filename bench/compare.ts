/**
 * `npm run bench:compare -- --root <another checkout>`: (2) — validated writes over HTTP — of this
 * tree and of another (e.g. the commit before a change, checked out and built), measured in
 * turns: each tree's server on a database of its own holding the same fleet, short runs
 * alternating between the two, the order swapped every round. This machine's speed drifts by
 * tens of percent over minutes; two `npm run bench` runs minutes apart measure that drift as much
 * as the change.
 *
 * Options: --root DIR (required: a rema tree, built), --rounds N (4), --duration S (8),
 * --concurrency C (16), --sites N (500), --assets N (25,000), --sites-written N (every site: the
 * clients write the sensors of only the first N sites, e.g. 1 for one busy site), --keep-db.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../src/db/test-database.ts';
import { checkpoint, seedFleet, sites as listSites, waitForEventBacklog, writeTargets, type WriteTarget } from './lib/fleet.ts';
import { Api } from './lib/http.ts';
import { cpuMeter, dbCounters } from './lib/machine.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { formatStats } from './lib/report.ts';
import { meanStats, type RunStats } from './lib/stats.ts';
import { runWrites } from './scenarios/writes.ts';

const args = process.argv.slice(2);
const OPTIONS = new Set(['root', 'rounds', 'duration', 'concurrency', 'sites', 'assets', 'sites-written']);
for (let i = 0; i < args.length; i++) {
  const name = args[i].replace(/^--/, '');
  if (name === 'keep-db') continue;
  if (!args[i].startsWith('--') || !OPTIONS.has(name)) throw new Error(`unknown argument ${args[i]}; see the top of bench/compare.ts`);
  if (args[i + 1] === undefined || args[i + 1].startsWith('--')) throw new Error(`--${name} needs a value`);
  i++;
}
const option = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const positive = (name: string, fallback: number) => {
  const value = Number(option(name, String(fallback)));
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
  return value;
};
const here = fileURLToPath(new URL('../', import.meta.url));
const otherRoot = option('root') && path.resolve(option('root') as string);
if (!otherRoot) throw new Error('--root <a rema checkout, built> is required: the tree to compare this one with');
if (!existsSync(path.join(otherRoot, 'bin', 'rema.mjs')) || !existsSync(path.join(otherRoot, 'dist'))) {
  throw new Error(`${otherRoot} is not a built rema tree (no bin/rema.mjs or no dist/: run npm run build there)`);
}
if (path.resolve(otherRoot) === path.resolve(here)) throw new Error('--root is this tree: give another checkout');
const ROUNDS = positive('rounds', 4);
const DURATION_MS = positive('duration', 8) * 1000;
const CONCURRENCY = positive('concurrency', 16);
const SITES = positive('sites', 500);
const ASSETS = positive('assets', 25_000);
const SITES_WRITTEN = positive('sites-written', SITES);
if (SITES_WRITTEN > SITES) throw new Error(`--sites-written ${SITES_WRITTEN} is more than the fleet's ${SITES} sites`);
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const TOKEN = `rema_bench_${process.pid}_token_for_full_rights`;

const log = (msg: string) => console.log(`[compare ${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface Side {
  name: string;
  root: string;
  db?: TestDatabase;
  server?: ServerProcess;
  api?: Api;
  targets?: WriteTarget[];
  runs: RunStats[];
}

const sides: Side[] = [
  { name: 'this', root: here, runs: [] },
  { name: 'other', root: otherRoot, runs: [] },
];

let cleaning: Promise<void> | undefined;
/** Stops both servers and drops both databases (unless --keep-db), once, however the run ends. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(sides.map((s) => s.server?.stop()));
    if (args.includes('--keep-db')) return sides.forEach((s) => s.db && log(`kept database ${s.db.url}`));
    await Promise.allSettled(sides.map((s) => s.db?.drop()));
  })();
  return cleaning;
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

try {
  for (const side of sides) {
    side.db = await createTestDatabase();
    side.server = await startServer({ databaseUrl: side.db.url, mqttUrl: MQTT_URL, token: TOKEN, root: side.root });
    side.api = new Api(side.server.url, TOKEN, CONCURRENCY);
    const seeded = await seedFleet({ url: side.server.url, token: TOKEN, sites: SITES, assets: ASSETS, concurrency: 8, root: side.root });
    log(`${side.name} (${side.root}): server pid ${side.server.pid}, seeded ${seeded.assets} assets in ${seeded.wallS.toFixed(1)} s`);
    await waitForEventBacklog(side.db.pool, 300, log);
    const targets = await writeTargets(side.db.pool);
    // Sites in the seed's order of codes, the same on both sides.
    const written = new Set((await listSites(side.db.pool)).slice(0, SITES_WRITTEN).map((s) => s.id));
    side.targets = targets.filter((t) => written.has(t.siteId));
    if (side.targets.length < CONCURRENCY) throw new Error(`${side.name}: ${side.targets.length} sensors to write in ${SITES_WRITTEN} site(s), fewer than the ${CONCURRENCY} clients`);
  }
  // Neither side's server may be consuming its last run's events in the other's window.
  const settle = (measured: Side) => async () => {
    for (const s of sides) await waitForEventBacklog((s.db as TestDatabase).pool, 120, log);
    await checkpoint((measured.db as TestDatabase).pool, log);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const db = side.db as TestDatabase;
      const dbName = new URL(db.url).pathname.slice(1);
      const loop = { concurrency: CONCURRENCY, durationMs: DURATION_MS, maxOps: 1_000_000, warmupMs: 2000, cpu: cpuMeter(side.server?.pid, dbName), counters: dbCounters(db.pool, dbName) };
      const s = await runWrites(side.api as Api, side.targets as WriteTarget[], loop, 1000 + round, { settle: settle(side) });
      side.runs.push(s);
      // A tree whose writes fail would only look slow: stop instead.
      if (s.errors > 0) throw new Error(`${side.name}: ${s.errors} writes failed in round ${round + 1}; see ${side.server?.logFile}`);
      log(`round ${round + 1}, ${side.name.padEnd(5)}: ${formatStats(s)}`);
    }
  }
  const [mine, other] = sides.map((s) => meanStats(s.runs));
  log(`means over ${ROUNDS} runs each (of each run's percentiles, not percentiles of all requests), ${CONCURRENCY} clients${SITES_WRITTEN < SITES ? `, writing ${SITES_WRITTEN} site(s)` : ''}:`);
  log(`  this:  ${formatStats(mine)}`);
  log(`  other: ${formatStats(other)}`);
  const ratio = (f: (s: RunStats) => number) => (f(mine) / f(other)).toFixed(3);
  log(`  this / other: writes/s ${ratio((s) => s.rate)}, p50 ${ratio((s) => s.p50)}, p99 ${ratio((s) => s.p99)}, server CPU/write ${ratio((s) => s.cpuMsPerOp?.rema ?? NaN)}`);
} finally {
  await cleanup();
}
