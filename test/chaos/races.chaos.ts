/**
 * Races across instances: three rema processes on one PostgreSQL, 64 clients racing
 * conflicting writes through all of them for a fixed time. Afterwards the oracle holds the
 * stored state and the audit log to every answer (test/chaos/oracle.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
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
