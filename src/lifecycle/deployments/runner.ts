/**
 * The deployment runner: a loop in every instance that moves running deployments forward.
 * All state is in PostgreSQL; an instance claims one deployment at a time with
 * `FOR UPDATE SKIP LOCKED`, so several instances share the work and a restarted one resumes
 * where the last left off. MQTT publishes happen after the step's transaction commits.
 */
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { withTransaction } from '../../db/tx.ts';
import { publishJson } from '../../mqtt/client.ts';
import { desiredTopic, type DesiredPayload } from '../../mqtt/topics.ts';
import type { ConfigClient } from '../config-client.ts';
import { hasUnrelayedAcks, relayAcks } from './ack-relay.ts';
import {
  auditDeployment,
  auditState,
  countTargets,
  loadDeployment,
  loadTargets,
  runnerActor,
  targetsToSend,
  type DeploymentView,
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

/**
 * @example
 *   const runner = createDeploymentRunner({ pool, mqtt, config });
 *   runner.start();
 *   // … POST /v1/deployments, then runner.kick()
 *   await runner.stop();
 */
export function createDeploymentRunner(opts: RunnerOptions): DeploymentRunner {
  const intervalMs = opts.intervalMs ?? 500;
  const log = opts.log ?? silent;
  /**
   * Targets this instance has published since its broker connection came up. A `sent` target
   * missing here — published by an instance that died, or before the broker restarted — is
   * published again, and its timeout starts over.
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
    await relayAcks(opts.pool, opts.config, log);
    // Without a broker nothing can be sent or heard: time stands still for the deployments
    // rather than timing out devices that were never asked.
    if (!opts.mqtt?.connected) return;
    const { rows } = await opts.pool.query<{ id: string }>(`SELECT id FROM lifecycle.deployments WHERE status = 'running' ORDER BY created_at, id`);
    for (const { id } of rows) {
      if (stopRequested) return;
      await step(id);
    }
  }

  /** Advances one deployment by what is due now, then publishes what the step decided to send. */
  async function step(id: string): Promise<void> {
    const mqtt = opts.mqtt;
    if (!mqtt) return;
    const toPublish = await withTransaction(opts.pool, async (client) => {
      const { rows } = await client.query(`SELECT id FROM lifecycle.deployments WHERE id = $1 AND status = 'running' FOR UPDATE SKIP LOCKED`, [id]);
      if (!rows[0]) return [];
      const before = await loadDeployment(client, id);
      if (!before) return [];
      const sends: TargetToSend[] = [];
      if (before.currentBatch > 0) {
        await client.query(
          `UPDATE lifecycle.deployment_targets SET status = 'timed_out', finished_at = now(), error = $3
            WHERE deployment_id = $1 AND batch = $2 AND status = 'sent' AND sent_at + $4 * interval '1 millisecond' < now()`,
          [id, before.currentBatch, `no acknowledgement within ${before.timeoutMs} ms`, before.timeoutMs],
        );
        const unsent = (await targetsToSend(client, id, before.currentBatch, 'sent')).filter((t) => !published.has(key(t)));
        if (unsent.length > 0) {
          await client.query(`UPDATE lifecycle.deployment_targets SET sent_at = now() WHERE deployment_id = $1 AND asset_id = ANY($2::uuid[]) AND status = 'sent'`, [
            id,
            unsent.map((t) => t.assetId),
          ]);
          sends.push(...unsent);
        }
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
      const audit = (action: string, from: DeploymentView, to: object) =>
        auditDeployment(client, from, { action, actor, requestId: from.requestId, before: auditState(from), after: to });
      if (before.currentBatch > 0) {
        const results = (await loadTargets(client, id)).filter((t) => t.batch === before.currentBatch);
        await audit('finish-batch', before, { ...auditState(before), batch: before.currentBatch, results: results.map((t) => ({ assetId: t.assetId, status: t.status, error: t.error })) });
      }
      if (decision.kind === 'start-batch') {
        await client.query(`UPDATE lifecycle.deployments SET current_batch = $2, updated_at = now() WHERE id = $1`, [id, decision.batch]);
        await client.query(`UPDATE lifecycle.deployment_targets SET status = 'sent', sent_at = now() WHERE deployment_id = $1 AND batch = $2 AND status = 'pending'`, [id, decision.batch]);
        sends.push(...(await targetsToSend(client, id, decision.batch, 'sent')));
        const after = await loadDeployment(client, id);
        if (after) await audit('start-batch', before, { ...auditState(after), batch: decision.batch, assetIds: sends.map((t) => t.assetId) });
        return sends;
      }
      const status = decision.kind === 'abort' ? 'aborted' : decision.status;
      const reason = decision.reason;
      if (decision.kind === 'abort') {
        await client.query(
          `UPDATE lifecycle.deployment_targets SET status = 'cancelled', finished_at = now(), error = $2 WHERE deployment_id = $1 AND status = 'pending'`,
          [id, `not sent: the deployment was aborted (${reason})`],
        );
      }
      await client.query(`UPDATE lifecycle.deployments SET status = $2, reason = $3, updated_at = now(), finished_at = now() WHERE id = $1`, [id, status, reason]);
      const after = await loadDeployment(client, id);
      if (after) await audit(decision.kind === 'abort' ? 'abort' : 'finish', before, auditState(after));
      return sends;
    });
    if (toPublish.length > 0) await publishAll(mqtt, toPublish);
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
    },
    kick,
    tick,
  };
}
