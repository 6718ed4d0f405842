/**
 * What gateways send back: acks (per deployment, asset and version) and retained reported
 * states. Every instance subscribes to all of them; processing is idempotent (status changes
 * are guarded by the current status, states are upserts), so duplicates — QoS 1 redelivery,
 * several instances, retained replays after a reconnect — change nothing twice.
 */
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { withTransaction } from '../../db/tx.ts';
import { isUuid, parseAck, parseReported } from '../../mqtt/payloads.ts';
import { ALL_ACKS, ALL_STATES, parseTopic, type AckPayload, type ParsedTopic } from '../../mqtt/topics.ts';
import { ackQueued, enqueueAcked } from './ack-relay.ts';

export interface BridgeLog {
  warn(obj: object, msg: string): void;
}

export type AckOutcome = 'acked' | 'failed' | 'late' | 'duplicate' | 'unknown' | 'mismatch';

/**
 * Applies one ack. An `applied` ack for an open target (pending or sent) makes it `acked` and
 * queues the version for the configuration service's deployed claims; `rejected` makes it
 * `failed` with the gateway's error. A late `applied` ack (the target timed out, or was
 * cancelled, after it was sent) leaves the target's status as it is but is still recorded as
 * deployed: the device does run that version now. Acks naming another version, gateway or
 * site than the target's are ignored.
 */
export async function applyAck(pool: pg.Pool, topic: ParsedTopic, ack: AckPayload): Promise<AckOutcome> {
  if (ack.assetId !== topic.assetId) return 'mismatch';
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ status: string; config_version: number; gateway_id: string; site_code: string; request_id: string | null; sent_at: Date | null }>(
      `SELECT t.status, t.config_version, t.gateway_id, t.site_code, t.sent_at, d.request_id
         FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id
        WHERE t.deployment_id = $1 AND t.asset_id = $2 FOR UPDATE OF t`,
      [ack.deploymentId, ack.assetId],
    );
    const t = rows[0];
    if (!t) return 'unknown';
    if (t.config_version !== ack.version || t.gateway_id !== topic.gatewayId || t.site_code !== topic.siteCode) return 'mismatch';
    const acked = { deploymentId: ack.deploymentId, assetId: ack.assetId, version: ack.version, requestId: t.request_id };

    if (t.status === 'pending' || t.status === 'sent') {
      if (ack.status === 'applied') {
        await client.query(
          `UPDATE lifecycle.deployment_targets SET status = 'acked', error = NULL, finished_at = now() WHERE deployment_id = $1 AND asset_id = $2`,
          [ack.deploymentId, ack.assetId],
        );
        await enqueueAcked(client, acked);
        return 'acked';
      }
      await client.query(
        `UPDATE lifecycle.deployment_targets SET status = 'failed', error = $3, finished_at = now() WHERE deployment_id = $1 AND asset_id = $2`,
        [ack.deploymentId, ack.assetId, `rejected by the gateway: ${ack.error ?? 'no reason given'}`],
      );
      return 'failed';
    }
    const wasSent = t.sent_at !== null;
    if (ack.status === 'applied' && wasSent && (t.status === 'timed_out' || t.status === 'cancelled') && !(await ackQueued(client, ack.deploymentId, ack.assetId))) {
      await client.query(
        `UPDATE lifecycle.deployment_targets SET error = concat_ws('; ', error, 'acknowledged late, at ' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
          WHERE deployment_id = $1 AND asset_id = $2`,
        [ack.deploymentId, ack.assetId],
      );
      await enqueueAcked(client, acked);
      return 'late';
    }
    return 'duplicate';
  });
}

interface StateUpdate {
  assetId: string;
  siteCode: string;
  gatewayId: string;
  /** null: the retained state was cleared. */
  state: { version: number; hash: string } | null;
}

/**
 * Stores a batch of reported states in one statement per kind; for an asset reported several
 * times the last message wins. `reported_at` moves only when what is reported changes, so a
 * retained replay after a reconnect does not look like a fresh report.
 */
export async function storeReportedStates(pool: pg.Pool, updates: StateUpdate[]): Promise<void> {
  const last = new Map(updates.map((u) => [u.assetId, u]));
  const upserts = [...last.values()].filter((u) => u.state !== null);
  const clears = [...last.values()].filter((u) => u.state === null).map((u) => u.assetId);
  if (upserts.length > 0) {
    await pool.query(
      `INSERT INTO lifecycle.reported_state AS r (asset_id, site_code, gateway_id, version, hash)
       SELECT s.asset_id, s.site_code, s.gateway_id, s.version, s.hash
         FROM jsonb_to_recordset($1::jsonb) AS s(asset_id uuid, site_code text, gateway_id uuid, version int, hash text)
       ON CONFLICT (asset_id) DO UPDATE SET site_code = EXCLUDED.site_code, gateway_id = EXCLUDED.gateway_id,
         version = EXCLUDED.version, hash = EXCLUDED.hash, reported_at = now()
       WHERE (r.site_code, r.gateway_id, r.version, r.hash) IS DISTINCT FROM (EXCLUDED.site_code, EXCLUDED.gateway_id, EXCLUDED.version, EXCLUDED.hash)`,
      [JSON.stringify(upserts.map((u) => ({ asset_id: u.assetId, site_code: u.siteCode, gateway_id: u.gatewayId, version: u.state?.version, hash: u.state?.hash })))],
    );
  }
  if (clears.length > 0) await pool.query(`DELETE FROM lifecycle.reported_state WHERE asset_id = ANY($1::uuid[])`, [clears]);
}

export interface MqttBridge {
  start(): void;
  /** Stops listening and waits for the messages in hand to be stored. */
  stop(): Promise<void>;
}

/**
 * Subscribes to every ack and every reported state and stores them. Acks of one asset are
 * applied in arrival order, different assets in parallel; states are written in batches
 * (every `stateFlushMs`), which keeps a reconnect's replay of thousands of retained states
 * to a few statements.
 *
 * @example
 *   const bridge = createMqttBridge({ pool, mqtt, onAck: () => runner.kick() });
 *   bridge.start();
 */
export function createMqttBridge(opts: { pool: pg.Pool; mqtt: MqttClient; onAck?: () => void; log?: BridgeLog; stateFlushMs?: number }): MqttBridge {
  const log = opts.log ?? { warn: () => {} };
  const ackChains = new Map<string, Promise<void>>();
  let states: StateUpdate[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const subscribe = () => {
    opts.mqtt.subscribe({ [ALL_ACKS]: { qos: 1 }, [ALL_STATES]: { qos: 1 } }, (err) => {
      if (err) log.warn({ err }, 'subscribing to acks and states failed');
    });
  };

  function onAckMessage(topic: ParsedTopic, message: Buffer) {
    const ack = parseAck(message);
    if (!ack) {
      log.warn({ topic: topic, payload: message.toString().slice(0, 200) }, 'malformed ack ignored');
      return;
    }
    const previous = ackChains.get(ack.assetId) ?? Promise.resolve();
    const next = previous
      .then(() => applyAck(opts.pool, topic, ack))
      .then(
        (outcome) => {
          if (outcome === 'unknown' || outcome === 'mismatch') log.warn({ ack, topic, outcome }, 'ack matches no target');
          else opts.onAck?.();
        },
        (err: unknown) => log.warn({ err, ack }, 'ack not stored'),
      )
      .finally(() => {
        if (ackChains.get(ack.assetId) === next) ackChains.delete(ack.assetId);
      });
    ackChains.set(ack.assetId, next);
  }

  function onStateMessage(topic: ParsedTopic, message: Buffer) {
    let state: StateUpdate['state'] = null;
    if (message.length > 0) {
      const reported = parseReported(message);
      if (!reported || reported.assetId !== topic.assetId) {
        log.warn({ topic, payload: message.toString().slice(0, 200) }, 'malformed reported state ignored');
        return;
      }
      state = { version: reported.version, hash: reported.hash };
    }
    states.push({ assetId: topic.assetId, siteCode: topic.siteCode, gatewayId: topic.gatewayId, state });
    flushTimer ??= setTimeout(flush, opts.stateFlushMs ?? 50);
  }

  function flush() {
    flushTimer = undefined;
    const batch = states;
    states = [];
    flushing = flushing.then(() => storeReportedStates(opts.pool, batch)).catch((err: unknown) => log.warn({ err, count: batch.length }, 'reported states not stored'));
  }

  const onMessage = (topicName: string, message: Buffer) => {
    const topic = parseTopic(topicName);
    if (!topic || !isUuid(topic.assetId) || !isUuid(topic.gatewayId)) return;
    if (topic.kind === 'ack') onAckMessage(topic, message);
    else if (topic.kind === 'state') onStateMessage(topic, message);
  };

  return {
    start() {
      opts.mqtt.on('message', onMessage);
      opts.mqtt.on('connect', subscribe);
      if (opts.mqtt.connected) subscribe();
    },
    async stop() {
      opts.mqtt.removeListener('message', onMessage);
      opts.mqtt.removeListener('connect', subscribe);
      if (opts.mqtt.connected) {
        await opts.mqtt.unsubscribeAsync([ALL_ACKS, ALL_STATES]).catch(() => {});
      }
      clearTimeout(flushTimer);
      flush();
      await Promise.all([...ackChains.values(), flushing]);
    },
  };
}
