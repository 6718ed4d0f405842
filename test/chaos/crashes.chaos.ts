/**
 * Crashes: `kill -9` of an instance during the racing load, several times, each killed
 * instance started again. Requests in flight on it get no answer; whatever it acknowledged
 * before must be stored and audited, and nothing may be half-applied.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
import { checkNothingLost, reader } from './oracle.ts';
import { isWrite, Recorder, tally } from './recorder.ts';
import { counts, report } from './report.ts';
import { chaosEnv, createRaceSite, prng, race, roundRobin } from './workload.ts';

const SECONDS = chaosEnv.seconds(45);
const KILLS = 3;
const CLIENTS = 32;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
});
afterAll(() => cluster?.stop());

it(`kill -9 of an instance ${KILLS} times during load loses no acknowledged write and half-applies nothing`, async ({ task }) => {
  const seed = chaosEnv.seed();
  const random = prng(seed);
  const rec = new Recorder(`crash${seed}`, CHAOS_TOKEN);
  const balance = roundRobin(() => cluster.instances);
  const sites: string[] = [];
  for (let i = 0; i < 2; i++) sites.push((await createRaceSite(rec, balance(), `CRASH-${seed}-${i + 1}`)).site.id);

  const kills: string[] = [];
  const restarts: number[] = [];
  // Kills at fixed points of the load window; each victim is started again in the background
  // (a restart takes seconds on a busy machine), so the load keeps going on the others.
  const killer = async (until: number) => {
    const start = Date.now();
    const span = until - start;
    const pending: Promise<void>[] = [];
    for (let k = 0; k < KILLS; k++) {
      await sleep(Math.max(0, start + (span * (k + 1)) / (KILLS + 1) - Date.now()));
      // Keep at least one instance serving: wait for a restarting one to be back.
      for (let waited = 0; cluster.up().length < 2 && waited < 30_000; waited += 250) await sleep(250);
      const candidates = cluster.up();
      const victim = candidates[Math.floor(random() * candidates.length)];
      const inFlight = rec.log.length;
      await victim.kill9();
      kills.push(`${victim.name} after ${((Date.now() - start) / 1000).toFixed(1)} s, request ${inFlight}`);
      pending.push(
        (async () => {
          await sleep(500 + random() * 1000);
          const t0 = Date.now();
          await victim.restart();
          restarts.push(Date.now() - t0);
        })(),
      );
    }
    await Promise.all(pending);
  };
  await race({ rec, balance, sites, clients: CLIENTS, seconds: SECONDS, seed, during: killer });

  const writes = rec.log.filter(isWrite);
  const statuses = tally(writes);
  console.log(`[chaos] crashes: seed ${seed}, kills: ${kills.join('; ')}; restarts took ${restarts.join(', ')} ms; writes: ${counts(statuses)}`);
  expect(kills).toHaveLength(KILLS);
  const fiveHundreds = rec.log.filter((e) => typeof e.outcome === 'number' && e.outcome >= 500 && e.outcome !== 503);
  expect(fiveHundreds.map((e) => `${e.method} ${e.path} → ${e.outcome} ${e.text?.slice(0, 200)}`)).toEqual([]);

  const { problems, figures } = await checkNothingLost(reader(() => cluster.up(), CHAOS_TOKEN), cluster.db.pool, sites, rec.log);
  console.log(`[chaos] crashes oracle: ${JSON.stringify(figures)}`);
  expect(problems).toEqual([]);
  expect(figures.acknowledgedWrites).toBeGreaterThan(30);

  const cut = (statuses.lost ?? 0) + (statuses.unsent ?? 0);
  report(task, {
    scenario: `crashes: kill -9 × ${KILLS} during load (3 instances, ${CLIENTS} clients, ${SECONDS} s)`,
    tried: `${writes.length} writes: ${counts(statuses)}; ${cut} cut off by the kills`,
    held: `${figures.acknowledgedWrites} acknowledged writes all stored and audited; of ${figures.lostApplied + figures.lostNotApplied} unanswered writes ${figures.lostApplied} committed whole, ${figures.lostNotApplied} not at all; no change set half-applied, no event without its change set or the other way round; replay = state; chains verify; restart ${Math.max(...restarts)} ms at most`,
  });
});
