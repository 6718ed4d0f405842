/**
 * The deployment runner: a loop in every instance that moves running deployments forward.
 * All state is in PostgreSQL; an instance claims one deployment at a time with
 * `FOR UPDATE SKIP LOCKED` (and keeps it while it keeps stepping it), so several instances
 * share the work and a restarted one resumes where the last left off.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { withTransaction } from '../../db/tx.ts';
import { publishJson } from '../../mqtt/client.ts';
import { desiredTopic, type DesiredPayload } from '../../mqtt/topics.ts';
import type { ConfigClient } from '../config-client.ts';
import { hasUnrelayedAcks, relayAcks } from './ack-relay.ts';
import { deployLockKey } from './create-deployment.ts';
import {
  auditDeployment,
  auditState,
  countTargets,
  loadDeployment,
  loadTargets,
  runnerActor,
  targetsToSend,
  type TargetToSend,
} from './deployment-store.ts';
import { nextStep } from './next-step.ts';

export interface RunnerLog {
  warn(obj: object, msg: string): void;
}

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
  log?: RunnerLog;
}

export interface DeploymentRunner {
  start(): void;
  /** Stops the loop and waits for the round in progress. */
  stop(): Promise<void>;
  /** Asks for a round as soon as possible (a deployment was created, an ack arrived). */
  kick(): void;
  /** One round, for tests: relay acks, then step every running deployment once. */
  tick(): Promise<void>;
}

const silent: RunnerLog = { warn: () => {} };
const RELAY_WORKERS = 4;

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
  /**
   * Targets this instance has published since its broker connection came up. A `sent` target
   * of a deployment it owns that is missing here — published by an instance that stopped or
   * died, or before the broker restarted — is published again, and its timeout starts over.
   */
  const published = new Set<string>();
  const key = (t: { deploymentId: string; assetId: string }) => `${t.deploymentId}/${t.assetId}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
  let stopRequested = false;

  const onConnect = () => {
    published.clear();
    kick();
  };

  async function tick(): Promise<void> {
    // A few relays side by side: recordings of one site queue on its lock in the configuration
    // service anyway, those of different sites need not wait for each other.
    await Promise.all(Array.from({ length: RELAY_WORKERS }, () => relayAcks(opts.pool, opts.config, log)));
    // Without a broker nothing can be sent or heard: time stands still for the deployments
    // rather than timing out devices that were never asked.
    if (!opts.mqtt?.connected) return;
    const { rows } = await opts.pool.query<{ id: string }>(`SELECT id FROM lifecycle.deployments WHERE status = 'running' ORDER BY created_at, id`);
    const runningIds = new Set(rows.map((r) => r.id));
    for (const k of published) if (!runningIds.has(k.slice(0, k.indexOf('/')))) published.delete(k);
    for (const { id } of rows) {
      if (stopRequested) return;
      await step(id);
    }
  }

  /**
   * Advances one deployment by what is due now and publishes what the step decided to send —
   * before the commit, under the site's deployment lock held shared: a newer deployment to the
   * same assets (which takes that lock exclusively) supersedes only after this publish, so its
   * own retained configuration can never be overwritten by an older one. Should the commit
   * fail, the targets are still pending and are sent again; the device's ack counts either way.
   */
  async function step(id: string): Promise<void> {
    const mqtt = opts.mqtt;
    if (!mqtt) return;
    await withTransaction(opts.pool, async (client) => {
      const { rows } = await client.query<{ site_id: string; runner_id: string | null; lease_over: boolean }>(
        `SELECT site_id, runner_id, coalesce(runner_seen_at + $2 * interval '1 millisecond' < now(), true) AS lease_over
           FROM lifecycle.deployments WHERE id = $1 AND status = 'running' FOR UPDATE SKIP LOCKED`,
        [id, leaseMs],
      );
      const claim = rows[0];
      // Locked by another instance right now, or stepped by one that is still alive: not ours.
      if (!claim || (claim.runner_id !== null && claim.runner_id !== runnerId && !claim.lease_over)) return;
      if (claim.runner_id !== runnerId) forget(id);
      await client.query(`UPDATE lifecycle.deployments SET runner_id = $2, runner_seen_at = now() WHERE id = $1`, [id, runnerId]);
      await client.query(`SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))`, [deployLockKey(claim.site_id)]);
      const sends = await advance(client, id);
      if (sends.length > 0) await publishAll(mqtt, sends);
    });
  }

  /** The state changes of one step, with their audit events; returns the targets to publish. */
  async function advance(client: pg.PoolClient, id: string): Promise<TargetToSend[]> {
    const before = await loadDeployment(client, id);
    if (!before) return [];
    const sends: TargetToSend[] = [];
    if (before.currentBatch > 0) {
      // Sent, but not by this instance over its current connection (it took the deployment
      // over, or the broker restarted): send again, and give the device its full time from
      // now — its answer may have gone unheard while no one listened.
      const unsent = (await targetsToSend(client, id, before.currentBatch, 'sent')).filter((t) => !published.has(key(t)));
      if (unsent.length > 0) {
        await client.query(`UPDATE lifecycle.deployment_targets SET sent_at = now() WHERE deployment_id = $1 AND asset_id = ANY($2::uuid[]) AND status = 'sent'`, [
          id,
          unsent.map((t) => t.assetId),
        ]);
        sends.push(...unsent);
      }
      await client.query(
        `UPDATE lifecycle.deployment_targets SET status = 'timed_out', finished_at = now(), error = $3
          WHERE deployment_id = $1 AND batch = $2 AND status = 'sent' AND sent_at + $4 * interval '1 millisecond' < now()`,
        [id, before.currentBatch, `no acknowledgement within ${before.timeoutMs} ms`, before.timeoutMs],
      );
    }
    const counts = await countTargets(client, id, before.currentBatch);
    const decision = nextStep({
      currentBatch: before.currentBatch,
      batches: before.batches,
      ...counts,
      failureThreshold: before.failureThreshold,
      recordingAcks: before.currentBatch > 0 && (await hasUnrelayedAcks(client, id)),
    });
    if (decision.kind === 'wait') return sends;

    const actor = runnerActor(before.actor);
    const audit = (action: string, to: object) => auditDeployment(client, before, { action, actor, requestId: before.requestId, before: auditState(before), after: to });
    if (before.currentBatch > 0) {
      const results = (await loadTargets(client, id)).filter((t) => t.batch === before.currentBatch);
      await audit('finish-batch', { ...auditState(before), batch: before.currentBatch, results: results.map((t) => ({ assetId: t.assetId, status: t.status, error: t.error })) });
    }
    if (decision.kind === 'start-batch') {
      await client.query(`UPDATE lifecycle.deployments SET current_batch = $2, updated_at = now() WHERE id = $1`, [id, decision.batch]);
      await client.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1 AND batch = $2 AND status = 'pending'`, [id, decision.batch]);
      const batch = await targetsToSend(client, id, decision.batch, 'sent');
      sends.push(...batch);
      const after = await loadDeployment(client, id);
      if (after) await audit('start-batch', { ...auditState(after), batch: decision.batch, assetIds: batch.map((t) => t.assetId) });
      return sends;
    }
    const status = decision.kind === 'abort' ? 'aborted' : decision.status;
    if (decision.kind === 'abort') {
      await client.query(
        `UPDATE lifecycle.deployment_targets SET status = 'cancelled', finished_at = now(), error = $2 WHERE deployment_id = $1 AND status = 'pending'`,
        [id, `not sent: the deployment was aborted (${decision.reason})`],
      );
    }
    await client.query(`UPDATE lifecycle.deployments SET status = $2, reason = $3, updated_at = now(), finished_at = now() WHERE id = $1`, [id, status, decision.reason]);
    const after = await loadDeployment(client, id);
    if (after) await audit(decision.kind === 'abort' ? 'abort' : 'finish', auditState(after));
    return sends;
  }

  /** Drops what this instance published of a deployment it (re)takes over: it publishes it again. */
  function forget(deploymentId: string) {
    for (const k of published) if (k.startsWith(`${deploymentId}/`)) published.delete(k);
  }

  async function publishAll(mqtt: MqttClient, targets: TargetToSend[]): Promise<void> {
    await Promise.all(
      targets.map(async (t) => {
        const payload: DesiredPayload = { deploymentId: t.deploymentId, assetId: t.assetId, version: t.configVersion, hash: t.configHash, config: t.config };
        try {
          await publishJson(mqtt, desiredTopic(t.siteCode, t.gatewayId, t.assetId), payload, { retain: true, timeoutMs: opts.publishTimeoutMs ?? 5000 });
          published.add(key(t));
        } catch (err) {
          // Left out of `published`: the next round publishes it again.
          published.delete(key(t));
          log.warn({ err, deploymentId: t.deploymentId, assetId: t.assetId }, 'desired configuration not published');
        }
      }),
    );
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(round, ms);
  }

  function round() {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = tick()
      .catch((err: unknown) => log.warn({ err }, 'deployment runner round failed'))
      .finally(() => {
        running = undefined;
        const soon = again;
        again = false;
        schedule(soon ? 0 : intervalMs);
      });
  }

  function kick() {
    if (stopped) return;
    if (running) again = true;
    else schedule(0);
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
      await running;
      // Hand the deployments back, so another instance (or this one restarted) carries on at once.
      await opts.pool
        .query(`UPDATE lifecycle.deployments SET runner_id = NULL, runner_seen_at = NULL WHERE runner_id = $1 AND status = 'running'`, [runnerId])
        .catch((err: unknown) => log.warn({ err }, 'deployments not handed back; another instance takes them over after the lease'));
    },
    kick,
    tick,
  };
}
