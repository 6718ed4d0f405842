/**
 * The deployment runner: loops in every instance that move running deployments forward. All
 * state is in PostgreSQL; an instance claims a deployment with `FOR UPDATE SKIP LOCKED` (and
 * keeps it while its lease is renewed), so several instances share the work and a restarted
 * one resumes where the last left off. Two loops run side by side: one relays acknowledged
 * versions to the configuration service, the other steps deployments — several at once, since
 * they are independent — as soon as the relay has recorded what they wait for.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { isConnectionError, withTransaction } from '../../db/tx.ts';
import { publishJson } from '../../mqtt/client.ts';
import { desiredTopic, type DesiredPayload } from '../../mqtt/topics.ts';
import type { ConfigClient } from '../config-client.ts';
import { ACKED_TOPIC, ACKS_PER_CLAIM, relayAcks } from './ack-relay.ts';
import type { AckOutcome } from './apply-acks.ts';
import { deployLockKey } from './create-deployment.ts';
import { stepDeployments } from './deployment-step.ts';
import type { TargetToSend } from './deployment-store.ts';
import { CLEARS_PER_ROUND, publishClears } from './retained-clears.ts';
import type { WarnLog } from '../throttled-warnings.ts';

export interface RunnerOptions {
  pool: pg.Pool;
  mqtt: MqttClient | undefined;
  config: ConfigClient;
  /** Pause between rounds when nothing asks for one sooner (default 500 ms). */
  intervalMs?: number;
  /** How long a publish may wait for the broker's PUBACK (default 5 s). */
  publishTimeoutMs?: number;
  /**
   * How long a deployment stays with the instance that last stepped it before another may
   * take it over (default 10 rounds, at least 2 s). A stopped runner hands its deployments
   * back at once; a crashed one after this lease.
   */
  leaseMs?: number;
  /**
   * Step transactions side by side, each holding a connection of `pool` (default 2, and at
   * least two of the pool's connections stay free for acks, reported states and requests;
   * never fewer than 1). Each steps up to 25 deployments.
   */
  stepConcurrency?: number;
  log?: WarnLog;
}

export interface DeploymentRunner {
  start(): void;
  /** Stops the loops and waits for the work in progress. */
  stop(): Promise<void>;
  /** Asks for a round as soon as possible (a deployment was created). */
  kick(): void;
  /**
   * Acks were stored: the relay has acknowledged versions to record (and wakes the steps once
   * it has); a rejection may have ended a batch with nothing to record, so it wakes them too.
   */
  acked(outcomes: readonly AckOutcome[]): void;
  /** One round, for tests: relay acks, step every running deployment that has something to do, publish the queued clears. */
  tick(): Promise<void>;
}

const silent: WarnLog = { warn: () => {} };
/**
 * Relay workers side by side. Each holds no connection of this service while the
 * configuration service records its acks, but there each call writes up to four sites at
 * once on that service's connections: two workers leave most of them to its requests.
 */
const RELAY_WORKERS = 2;
/**
 * Deployments stepped in one transaction at most: their statements cover them all, and their
 * configurations are published together before the commit.
 */
const STEPS_PER_TRANSACTION = 25;
/** Pause of a relay worker after a claim that was not full (see `relayWorker`). */
const RELAY_GATHER_MS = 20;

/**
 * The running deployments, oldest first, with who holds each and whether it has anything to do
 * now: its first batch is due, every target of its current batch has answered and every ack of
 * it is recorded, or a target of its current batch is past its timeout. A deployment with none
 * of these only waits for its devices, and stepping it would change nothing.
 */
const RUNNING = `
  SELECT d.id, d.runner_id,
         coalesce(d.runner_seen_at + $1 * interval '1 millisecond' < now(), true) AS lease_over,
         d.current_batch = 0
           OR (NOT EXISTS (SELECT 1 FROM lifecycle.deployment_targets t
                            WHERE t.deployment_id = d.id AND t.batch = d.current_batch AND t.status IN ('pending', 'sent'))
               AND NOT EXISTS (SELECT 1 FROM lifecycle.outbox o
                                WHERE o.published_at IS NULL AND o.topic = '${ACKED_TOPIC}' AND o.payload->>'deploymentId' = d.id::text))
           OR EXISTS (SELECT 1 FROM lifecycle.deployment_targets t
                       WHERE t.deployment_id = d.id AND t.batch = d.current_batch AND t.status = 'sent'
                         AND t.sent_at + d.timeout_ms * interval '1 millisecond' < now()) AS due
    FROM lifecycle.deployments d
   WHERE d.status = 'running'
   ORDER BY d.created_at, d.id`;

interface RunningRow {
  id: string;
  runner_id: string | null;
  lease_over: boolean;
  due: boolean;
}

/**
 * @example
 *   const runner = createDeploymentRunner({ pool, mqtt, config });
 *   runner.start();
 *   // … POST /v1/deployments, then runner.kick()
 *   await runner.stop();
 */
export function createDeploymentRunner(opts: RunnerOptions): DeploymentRunner {
  const intervalMs = opts.intervalMs ?? 500;
  const leaseMs = opts.leaseMs ?? Math.max(2000, 10 * intervalMs);
  const log = opts.log ?? silent;
  const runnerId = `${hostname().slice(0, 24)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const stepConcurrency = opts.stepConcurrency ?? Math.max(1, Math.min(2, (opts.pool.options.max ?? 10) - 2));
  /**
   * Per deployment, the targets this instance has published since its broker connection came
   * up. A `sent` target of a deployment it owns that is missing here — published by an
   * instance that stopped or died, or before the broker restarted — is published again, and
   * its timeout starts over.
   */
  const published = new Map<string, Set<string>>();
  /**
   * Deployments of this instance whose current batch it has published in full over its current
   * broker connection: unless the database says they have something to do, a round skips them.
   */
  const settledHere = new Set<string>();
  /** Counts the broker connections; a step that outlived its connection leaves nothing settled. */
  let connection = 0;
  let timer: NodeJS.Timeout | undefined;
  let stepping: Promise<void> | undefined;
  let stepAgain = false;
  /** The relay workers at work; each records acks until it finds none left. */
  const relays = new Set<Promise<void>>();
  /** Acks came in while the last workers were finishing: one more look once they are done. */
  let relayWanted = false;
  let stopped = true;
  let stopRequested = false;

  const onConnect = () => {
    connection++;
    published.clear();
    settledHere.clear();
    kick();
  };

  /**
   * Records queued acks until it finds none left, telling the steps each time some were
   * recorded. A full claim means a backlog: every worker is put to it. After a partial one it
   * waits a moment, so the next claim gathers more than a few acks.
   */
  async function relayWorker(): Promise<void> {
    while (!stopRequested) {
      const settled = await relayAcks(opts.pool, opts.config, log, ACKS_PER_CLAIM);
      if (settled === 0) return;
      kickSteps();
      if (settled >= ACKS_PER_CLAIM) while (relays.size < RELAY_WORKERS) spawnRelay();
      else await sleep(RELAY_GATHER_MS);
    }
  }

  function spawnRelay() {
    const worker: Promise<void> = relayWorker()
      .catch((err: unknown) => log.warn({ err }, 'relaying acknowledged versions failed'))
      .finally(() => {
        relays.delete(worker);
        if (relays.size === 0 && relayWanted && !stopped) {
          relayWanted = false;
          spawnRelay();
        }
      });
    relays.add(worker);
  }

  /** Waits until no relay worker is at work (those it puts to work included). */
  async function drainRelays(): Promise<void> {
    while (relays.size > 0) await Promise.all([...relays]);
  }

  async function stepRound(): Promise<void> {
    // Without a broker nothing can be sent or heard: time stands still for the deployments
    // rather than timing out devices that were never asked.
    if (!opts.mqtt?.connected) return;
    const { rows } = await opts.pool.query<RunningRow>(RUNNING, [leaseMs]);
    const runningIds = new Set(rows.map((r) => r.id));
    for (const id of published.keys()) if (!runningIds.has(id)) published.delete(id);
    for (const id of settledHere) if (!runningIds.has(id)) settledHere.delete(id);
    // Ours, nothing to do says the database, fully published here: only the lease to keep.
    const idle = (r: RunningRow) => r.runner_id === runnerId && !r.due && settledHere.has(r.id);
    // Held by another instance that is still alive: not ours to step.
    const theirs = (r: RunningRow) => r.runner_id !== null && r.runner_id !== runnerId && !r.lease_over;
    await renewLeases(rows.filter(idle).map((r) => r.id));
    const due = rows.filter((r) => !idle(r) && !theirs(r)).map((r) => r.id);
    // Several deployments per transaction, and several transactions side by side.
    const size = Math.max(1, Math.min(STEPS_PER_TRANSACTION, Math.ceil(due.length / stepConcurrency)));
    const chunks = Array.from({ length: Math.ceil(due.length / size) }, (_, i) => due.slice(i * size, (i + 1) * size));
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(stepConcurrency, chunks.length) }, async () => {
        while (next < chunks.length && !stopRequested) await stepSeveral(chunks[next++]);
      }),
    );
  }

  /** When {@link clearRound} last looked: rounds come back to back while acks pour in, clears need no such haste. */
  let clearsLookedAt = 0;

  /** Clears the retained configurations queued to leave the broker (`retained-clears.ts`), while there are some. */
  async function clearRound(): Promise<void> {
    clearsLookedAt = Date.now();
    const mqtt = opts.mqtt;
    while (mqtt?.connected && !stopRequested) {
      const cleared = await publishClears(opts.pool, mqtt, { timeoutMs: opts.publishTimeoutMs, log });
      if (cleared < CLEARS_PER_ROUND) return;
    }
  }

  /** {@link step} for these deployments; should that fail, each alone, so one cannot hold up the rest. */
  async function stepSeveral(ids: string[]): Promise<void> {
    try {
      await step(ids);
    } catch (err) {
      if (ids.length === 1 || isConnectionError(err)) {
        for (const id of ids) settledHere.delete(id);
        log.warn({ err, deploymentIds: ids }, 'deployments not stepped');
      } else {
        for (const id of ids) await stepSeveral([id]);
      }
    }
  }

  /**
   * Keeps this instance's claim on deployments it leaves alone this round. Only claims older
   * than a quarter of the lease are written, so a burst of rounds does not rewrite every row
   * each time; a row locked right now (being cancelled, say) is left for the next round.
   */
  async function renewLeases(ids: string[]) {
    if (ids.length === 0) return;
    await opts.pool.query(
      `UPDATE lifecycle.deployments SET runner_seen_at = now()
        WHERE id IN (SELECT id FROM lifecycle.deployments
                      WHERE id = ANY($1::uuid[]) AND status = 'running' AND runner_id = $2
                        AND runner_seen_at < now() - $3 * interval '1 millisecond'
                        FOR UPDATE SKIP LOCKED)`,
      [ids, runnerId, leaseMs / 4],
    );
  }

  /**
   * Advances these deployments by what is due now (`stepDeployments`) and publishes what the
   * steps decided to send — before the commit, under each site's deployment lock held shared: a
   * newer deployment to the same assets (which takes that lock exclusively) supersedes only
   * after this publish, so its own retained configuration can never be overwritten by an older
   * one. Should the commit fail, the targets are still pending and are sent again; the device's
   * ack counts either way.
   */
  async function step(ids: string[]): Promise<void> {
    const mqtt = opts.mqtt;
    if (!mqtt) return;
    const startedOn = connection;
    const outcome = await withTransaction(opts.pool, async (client) => {
      // Locked by another instance right now, or held by one that is still alive: not ours.
      const { rows: claimed } = await client.query<{ id: string; site_id: string; previous: string | null }>(
        `UPDATE lifecycle.deployments d SET runner_id = $2, runner_seen_at = now()
           FROM (SELECT id, runner_id, runner_seen_at FROM lifecycle.deployments
                  WHERE id = ANY($1::uuid[]) AND status = 'running' ORDER BY id FOR UPDATE SKIP LOCKED) c
          WHERE d.id = c.id AND (c.runner_id IS NULL OR c.runner_id = $2 OR c.runner_seen_at IS NULL OR c.runner_seen_at + $3 * interval '1 millisecond' < now())
          RETURNING d.id, d.site_id, c.runner_id AS previous`,
        [ids, runnerId, leaseMs],
      );
      if (claimed.length === 0) return { stepped: [] as string[], unpublished: new Set<string>() };
      for (const c of claimed) {
        if (c.previous !== runnerId) published.delete(c.id);
        settledHere.delete(c.id);
      }
      // In one order in every instance, so two runners never wait for each other's sites.
      const siteKeys = [...new Set(claimed.map((c) => deployLockKey(c.site_id)))].sort();
      await client.query(`SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [siteKeys]);
      const sends = await stepDeployments(
        client,
        claimed.map((c) => c.id),
        (deploymentId, assetId) => published.get(deploymentId)?.has(assetId) ?? false,
      );
      const unpublished = await publishAll(mqtt, sends);
      return { stepped: claimed.map((c) => c.id), unpublished };
    });
    // Only once committed: what these steps decided is what the database now says.
    if (startedOn !== connection) return;
    for (const id of outcome.stepped) if (!outcome.unpublished.has(id)) settledHere.add(id);
  }

  /** Publishes every target; returns the deployments of those that could not be (the next round publishes them again). */
  async function publishAll(mqtt: MqttClient, targets: TargetToSend[]): Promise<Set<string>> {
    const failed = new Set<string>();
    await Promise.all(
      targets.map(async (t) => {
        const payload: DesiredPayload = { deploymentId: t.deploymentId, assetId: t.assetId, version: t.configVersion, hash: t.configHash, config: t.config };
        try {
          await publishJson(mqtt, desiredTopic(t.siteCode, t.gatewayId, t.assetId), payload, { retain: true, timeoutMs: opts.publishTimeoutMs ?? 5000 });
          let mine = published.get(t.deploymentId);
          if (!mine) published.set(t.deploymentId, (mine = new Set()));
          mine.add(t.assetId);
        } catch (err) {
          // Left out of `published`: the next round publishes it again.
          published.get(t.deploymentId)?.delete(t.assetId);
          failed.add(t.deploymentId);
          log.warn({ err, deploymentId: t.deploymentId, assetId: t.assetId }, 'desired configuration not published');
        }
      }),
    );
    return failed;
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(round, ms);
  }

  /** A step round; on the timer, also a relay round (which retries after an outage). */
  function round() {
    timer = undefined;
    kickRelay();
    if (stepping) {
      stepAgain = true;
      return;
    }
    stepping = stepRound()
      .catch((err: unknown) => log.warn({ err }, 'deployment runner round failed'))
      .then(() => (Date.now() - clearsLookedAt >= intervalMs ? clearRound() : undefined))
      .catch((err: unknown) => log.warn({ err }, 'clearing retained configurations failed'))
      .finally(() => {
        stepping = undefined;
        const soon = stepAgain;
        stepAgain = false;
        schedule(soon ? 0 : intervalMs);
      });
  }

  function kickSteps() {
    if (stopped) return;
    if (stepping) stepAgain = true;
    else schedule(0);
  }

  function kickRelay() {
    if (stopped) return;
    if (relays.size === 0) spawnRelay();
    else relayWanted = true;
  }

  function kick() {
    kickRelay();
    kickSteps();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      stopRequested = false;
      opts.mqtt?.on('connect', onConnect);
      schedule(0);
    },
    async stop() {
      stopped = true;
      stopRequested = true;
      clearTimeout(timer);
      timer = undefined;
      opts.mqtt?.removeListener('connect', onConnect);
      await Promise.all([stepping, drainRelays()]);
      // Hand the deployments back, so another instance (or this one restarted) carries on at once.
      await opts.pool
        .query(`UPDATE lifecycle.deployments SET runner_id = NULL, runner_seen_at = NULL WHERE runner_id = $1 AND status = 'running'`, [runnerId])
        .catch((err: unknown) => log.warn({ err }, 'deployments not handed back; another instance takes them over after the lease'));
    },
    kick,
    acked(outcomes) {
      kickRelay();
      if (outcomes.includes('failed')) kickSteps();
    },
    async tick() {
      spawnRelay();
      await drainRelays();
      await stepRound();
      await clearRound();
    },
  };
}
