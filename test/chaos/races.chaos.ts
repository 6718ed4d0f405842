/**
 * Races across instances: three rema processes on one PostgreSQL, 64 clients racing
 * conflicting writes through all of them for a fixed time. Afterwards the oracle holds the
 * stored state and the audit log to every answer (test/chaos/oracle.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
import { checkDevices, raceDevices, registerDevices } from './device-races.ts';
import { checkNothingLost, reader } from './oracle.ts';
import { is2xx, isWrite, Recorder, tally } from './recorder.ts';
import { counts, report } from './report.ts';
import { chaosEnv, createRaceSite, race, roundRobin } from './workload.ts';

const SECONDS = chaosEnv.seconds(60);
const CLIENTS = 64;
const SITES = 3;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
});
afterAll(() => cluster?.stop());

it(`${CLIENTS} clients racing conflicting writes over 3 instances lose nothing and store nothing bad`, async ({ task }) => {
  const seed = chaosEnv.seed();
  const rec = new Recorder(`race${seed}`, CHAOS_TOKEN);
  const balance = roundRobin(() => cluster.instances);
  const sites: string[] = [];
  for (let i = 0; i < SITES; i++) sites.push((await createRaceSite(rec, balance(), `RACE-${seed}-${i + 1}`)).site.id);

  const started = Date.now();
  await race({ rec, balance, sites, clients: CLIENTS, seconds: SECONDS, seed });
  const took = (Date.now() - started) / 1000;

  const writes = rec.log.filter(isWrite);
  const statuses = tally(writes);
  console.log(`[chaos] races: seed ${seed}, ${rec.log.length} requests in ${took.toFixed(0)} s (${(rec.log.length / took).toFixed(0)}/s), writes: ${counts(statuses)}`);
  for (const i of cluster.instances) expect(i.running, `${i.name} is still running`).toBe(true);

  const { problems, figures } = await checkNothingLost(reader(() => cluster.instances, CHAOS_TOKEN), cluster.db.pool, sites, rec.log);
  console.log(`[chaos] races oracle: ${JSON.stringify(figures)}`);
  const fiveHundreds = rec.log.filter((e) => typeof e.outcome === 'number' && e.outcome >= 500);
  expect(fiveHundreds.map((e) => `${e.method} ${e.path} → ${e.outcome} ${e.text?.slice(0, 200)}`)).toEqual([]);
  expect(rec.log.filter((e) => e.outcome === 'lost' || e.outcome === 'unsent').length, 'requests without an answer').toBe(0);
  expect(problems).toEqual([]);
  // The run is only as good as its mix: many writes won, many were refused by rules, versions and constraints.
  // (Loose bounds: the machine may be busy; the figures are printed.)
  expect(writes.filter(is2xx).length).toBeGreaterThan(50);
  expect(statuses['409'] ?? 0).toBeGreaterThan(20);
  expect(statuses['412'] ?? 0).toBeGreaterThan(10);

  report(task, {
    scenario: `races: 3 instances, ${CLIENTS} clients, ${SITES} sites, ${SECONDS} s`,
    tried: `${writes.length} conflicting writes (${(rec.log.length / took).toFixed(0)} req/s): ${counts(statuses)}`,
    held: `0 × 5xx; ${figures.acknowledgedWrites} acknowledged writes all in state and log (${figures.acknowledgedEntities} entities matched); ${figures.refusedWrites} refusals left no change; state valid; replay = state over ${figures.events} events; chains verify; ${figures.appliedChangesets} change sets ↔ events ↔ outbox, revisions gapless`,
  });
});

it('clients racing device installs, swaps and faults into a few slots while the slots are retired under them: one device per slot, every answer in the log', async ({ task }) => {
  const seed = chaosEnv.seed();
  const rec = new Recorder(`devrace${seed}`, CHAOS_TOKEN);
  const balance = roundRobin(() => cluster.instances);
  const site = await createRaceSite(rec, balance(), `DEVRACE-${seed}`);
  const devices = await registerDevices(rec, balance, 12);
  const seconds = Math.max(10, Math.round(SECONDS / 2));
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: 24 }, (_, i) => raceDevices({ rec, balance, client: i + 1, seed, devices, site, until })));

  const api = reader(() => cluster.instances, CHAOS_TOKEN);
  // The lifecycle service follows retirements through the config feed: give it a moment to catch up.
  let problems: string[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    problems = await checkDevices(api, cluster.db.pool, devices, site.site.id, rec.log);
    if (problems.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const writes = rec.log.filter((e) => e.method !== 'GET');
  const statuses = tally(writes);
  const fiveHundreds = rec.log.filter((e) => typeof e.outcome !== 'number' || e.outcome >= 500);
  if (process.env.CHAOS_DEBUG) for (const i of cluster.instances) console.log(i.output().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(0, 20).join('\n'));
  expect(fiveHundreds.map((e) => `${e.method} ${e.path} → ${e.outcome} ${e.text?.slice(0, 200)}`)).toEqual([]);
  expect(problems).toEqual([]);
  const oracle = await checkNothingLost(api, cluster.db.pool, [site.site.id], rec.log);
  expect(oracle.problems).toEqual([]);
  expect(writes.filter(is2xx).length).toBeGreaterThan(20);
  console.log(`[chaos] device races: seed ${seed}, ${writes.length} writes: ${counts(statuses)}`);
  report(task, {
    scenario: `device races: 3 instances, 24 clients, 12 devices, 3 slots, ${seconds} s`,
    tried: `${writes.length} installs into the same slots, swaps, faults, returns, stale firmware patches, slot retirements: ${counts(statuses)}`,
    held: '0 × 5xx; never two devices in one slot; no device left in a retired slot once the lifecycle service caught up; every acknowledged device write the after of an applied event, each device as its last event says; no event from a refusal; site valid, replay = state, chains verify',
  });
});
