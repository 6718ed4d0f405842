/**
 * Database outage: PostgreSQL stopped during the racing load, held down a few seconds, started
 * again. While it is down rema answers 503 with Retry-After — never 500, never a wrong 4xx —
 * and it recovers by itself, with nothing acknowledged lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
import { checkNothingLost, reader } from './oracle.ts';
import { isWrite, Recorder, tally, type Exchange } from './recorder.ts';
import { counts, report } from './report.ts';
import { ensurePostgres, stopPostgres } from './services.ts';
import { chaosEnv, createRaceSite, race, roundRobin } from './workload.ts';

const SECONDS = chaosEnv.seconds(30);
const DOWN_MS = 5000;
const CLIENTS = 16;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
});
afterAll(async () => {
  await ensurePostgres();
  await cluster?.stop();
});

it('a PostgreSQL restart during load is answered with 503 + Retry-After, never 500, and rema recovers by itself', async ({ task }) => {
  const seed = chaosEnv.seed();
  const rec = new Recorder(`dbdown${seed}`, CHAOS_TOKEN);
  const balance = roundRobin(() => cluster.instances);
  const sites: string[] = [];
  for (let i = 0; i < 2; i++) sites.push((await createRaceSite(rec, balance(), `DBDOWN-${seed}-${i + 1}`)).site.id);

  const window = { stopped: 0, starting: 0, started: 0 };
  const recovered: Record<string, number> = {};
  const outage = async (until: number) => {
    await sleep((until - Date.now()) / 3);
    try {
      await stopPostgres();
      window.stopped = Date.now();
      // Probe readiness while it is down: /readyz must say so.
      const ready = await Promise.all(
        cluster.instances.map((i) =>
          fetch(`${i.url}/readyz`).then(
            (r) => r.status,
            (err: Error) => {
              throw new Error(`${i.name}: /readyz failed (${err.cause ?? err.message}), process ${i.running ? 'running' : `exited ${i.child?.exitCode ?? i.child?.signalCode}`}:\n${i.output()}`);
            },
          ),
        ),
      );
      expect(ready, '/readyz while PostgreSQL is down').toEqual(ready.map(() => 503));
      await sleep(Math.max(0, window.stopped + DOWN_MS - Date.now()));
    } finally {
      window.starting = Date.now();
      await ensurePostgres();
      window.started = Date.now();
    }
    // Recovery: each instance, by itself, serves a database-backed read again.
    await Promise.all(
      cluster.instances.map(async (i) => {
        for (;;) {
          const res = await fetch(`${i.url}/v1/sites/${sites[0]}`, { headers: { authorization: `Bearer ${CHAOS_TOKEN}` } }).catch(() => undefined);
          if (res?.status === 200) {
            recovered[i.name] = Date.now() - window.started;
            return;
          }
          if (Date.now() - window.started > 60_000) throw new Error(`${i.name} did not recover within 60 s: ${res?.status}\n${i.output()}`);
          await sleep(100);
        }
      }),
    );
  };
  await race({ rec, balance, sites, clients: CLIENTS, seconds: SECONDS, seed, during: outage });

  for (const i of cluster.instances) expect(i.running, `${i.name} survived the outage`).toBe(true);
  const during = rec.log.filter((e) => e.t0 >= window.stopped && e.t1 <= window.starting);
  const answered = (e: Exchange) => typeof e.outcome === 'number';
  const statuses = tally(rec.log);
  console.log(`[chaos] db outage: seed ${seed}, down ${window.starting - window.stopped} ms, back after ${window.started - window.starting} ms, recovered ${JSON.stringify(recovered)}; while down: ${counts(tally(during))}; all: ${counts(statuses)}`);

  const bad = rec.log.filter((e) => typeof e.outcome === 'number' && e.outcome >= 500 && (e.outcome !== 503 || !e.retryAfter));
  expect(bad.map((e) => `${e.method} ${e.path} → ${e.outcome} retry-after ${e.retryAfter} ${e.text?.slice(0, 200)}`)).toEqual([]);
  expect(during.filter(answered).length, 'requests answered while PostgreSQL was down').toBeGreaterThan(10);
  const notUnavailable = during.filter((e) => answered(e) && e.outcome !== 503);
  expect(notUnavailable.map((e) => `${e.method} ${e.path} → ${e.outcome} ${e.text?.slice(0, 200)}`), 'while down, every answer is 503').toEqual([]);

  const { problems, figures } = await checkNothingLost(reader(() => cluster.instances, CHAOS_TOKEN), cluster.db.pool, sites, rec.log);
  console.log(`[chaos] db outage oracle: ${JSON.stringify(figures)}`);
  expect(problems).toEqual([]);

  const writes = rec.log.filter(isWrite);
  report(task, {
    scenario: `database outage: PostgreSQL stopped ${DOWN_MS / 1000} s during load (3 instances, ${CLIENTS} clients, ${SECONDS} s)`,
    tried: `${rec.log.length} requests (${writes.length} writes): ${counts(statuses)}; ${during.length} while down: ${counts(tally(during))}`,
    held: `0 × 500; every 5xx a 503 with Retry-After; /readyz 503 while down; every instance served again ${Math.max(...Object.values(recovered))} ms after PostgreSQL was back, no restart; ${figures.acknowledgedWrites} acknowledged writes stored and audited; ${figures.lostApplied} answered 503 but committed (allowed: outcome unknown), ${figures.lostNotApplied} not; replay = state; chains verify`,
  });
});
