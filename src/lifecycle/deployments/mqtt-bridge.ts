/**
 * What gateways send back: acks (per deployment, asset and version) and retained reported
 * states. Every instance subscribes to all of them; processing is idempotent (status changes
 * are guarded by the current status, states are upserts), so duplicates — QoS 1 redelivery,
 * several instances, retained replays after a reconnect — change nothing twice.
 */
import type pg from 'pg';
import type { MqttClient } from 'mqtt';
import { isConnectionError } from '../../db/tx.ts';
import { isDatabaseUnavailable } from '../../http/db-errors.ts';
import { isUuid, parseAck, parseReported } from '../../mqtt/payloads.ts';
import { ALL_ACKS, ALL_STATES, parseTopic, type ParsedTopic } from '../../mqtt/topics.ts';
import { applyAcks, type AckOutcome, type ReceivedAck } from './apply-acks.ts';
import { deployedThrough } from './deployed-through.ts';
import type { WarnLog } from '../throttled-warnings.ts';

interface StateUpdate {
  assetId: string;
  siteCode: string;
  gatewayId: string;
  /** null: the retained state was cleared. */
  state: { version: number; hash: string } | null;
}

/** `stored`: written (or cleared, or already so); `not_its_topic`: ignored, its topic does not carry the asset. */
export type StateOutcome = 'stored' | 'not_its_topic';

/**
 * Stores a batch of reported states in one statement per kind; for an asset reported several
 * times the last message wins. Only a state whose topic names the site and gateway the asset
 * is deployed through (`deployed-through.ts`) counts — anyone can publish on any topic, and a
 * report through another gateway (an old one of a moved asset, say) says nothing about what the
 * device runs now — and a clear deletes only the state its own topic reported. `reported_at` moves only when what is
 * reported changes, so a retained replay after a reconnect does not look like a fresh report.
 *
 * @returns the outcome of each update, in the order given.
 */
export async function storeReportedStates(pool: pg.Pool, updates: StateUpdate[]): Promise<StateOutcome[]> {
  if (updates.length === 0) return [];
  const through = await deployedThrough(pool, [...new Set(updates.map((u) => u.assetId))]);
  const outcomes = updates.map((u): StateOutcome => {
    const t = through.get(u.assetId);
    return t && t.gatewayId === u.gatewayId && t.siteCode === u.siteCode ? 'stored' : 'not_its_topic';
  });
  const last = new Map(updates.filter((_, i) => outcomes[i] === 'stored').map((u) => [u.assetId, u]));
  const upserts = [...last.values()].filter((u) => u.state !== null);
  const clears = [...last.values()].filter((u) => u.state === null);
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
  if (clears.length > 0) {
    await pool.query(
      `DELETE FROM lifecycle.reported_state r USING unnest($1::uuid[], $2::text[], $3::uuid[]) AS c(asset_id, site_code, gateway_id)
        WHERE r.asset_id = c.asset_id AND r.site_code = c.site_code AND r.gateway_id = c.gateway_id`,
      [clears.map((u) => u.assetId), clears.map((u) => u.siteCode), clears.map((u) => u.gatewayId)],
    );
  }
  return outcomes;
}

export interface MqttBridge {
  start(): void;
  /** Stops listening and waits for the messages in hand to be stored. */
  stop(): Promise<void>;
}

/** Acks applied per transaction at most; a larger burst takes several, one after the other. */
const ACKS_PER_TRANSACTION = 500;

export interface MqttBridgeOptions {
  pool: pg.Pool;
  mqtt: MqttClient;
  /** Called with the outcomes of a burst of acks once stored, when one of them matched a target. */
  onAck?: (outcomes: AckOutcome[]) => void;
  log?: WarnLog;
  /** How long reported states are collected before they are written (default 50 ms). */
  stateFlushMs?: number;
  /** How long acks are collected before they are applied (default 5 ms). */
  ackFlushMs?: number;
}

/**
 * Subscribes to every ack and every reported state and stores them. Acks are collected for
 * `ackFlushMs` (and while the previous burst is being applied) and applied together, in
 * arrival order, one transaction per burst (see {@link applyAcks}); bursts are applied one
 * after the other, so the acks of an asset keep their order. States are written in batches
 * (every `stateFlushMs`), which keeps a reconnect's replay of thousands of retained states to
 * a few statements; a batch that fails is stored again one state at a time, and a state from
 * a topic that does not carry its asset is ignored (see {@link storeReportedStates}).
 *
 * @example
 *   const bridge = createMqttBridge({ pool, mqtt, onAck: (outcomes) => runner.acked(outcomes) });
 *   bridge.start();
 */
export function createMqttBridge(opts: MqttBridgeOptions): MqttBridge {
  const log = opts.log ?? { warn: () => {} };
  const acks: ReceivedAck[] = [];
  let ackTimer: NodeJS.Timeout | undefined;
  let applying: Promise<void> | undefined;
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
    acks.push({ topic, ack });
    ackTimer ??= setTimeout(drainAcks, opts.ackFlushMs ?? 5);
  }

  /** Applies what has been collected, burst after burst, until nothing is left. */
  function drainAcks() {
    ackTimer = undefined;
    if (applying) return; // the loop below picks up what came in meanwhile
    applying = (async () => {
      while (acks.length > 0) {
        await applyBurst(acks.splice(0, ACKS_PER_TRANSACTION));
      }
    })().finally(() => {
      applying = undefined;
    });
  }

  async function applyBurst(burst: ReceivedAck[]) {
    let outcomes: AckOutcome[];
    try {
      outcomes = await applyAcks(opts.pool, burst);
    } catch (err) {
      // A burst fails as a whole; one at a time, one ack that cannot be stored costs only itself.
      if (burst.length === 1 || isConnectionError(err)) {
        log.warn({ err, count: burst.length, acks: burst.slice(0, 5).map((a) => a.ack) }, 'acks not stored');
        return;
      }
      for (const one of burst) await applyBurst([one]);
      return;
    }
    let matched = false;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === 'unknown' || outcome === 'mismatch') log.warn({ ack: burst[i].ack, topic: burst[i].topic, outcome }, 'ack matches no target');
      else matched = true;
    }
    if (matched) opts.onAck?.(outcomes);
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
    if (batch.length > 0) flushing = flushing.then(() => storeBatch(batch));
  }

  /** Stores a batch of states; what could not be stored, or was ignored, is one warning each for the batch. */
  async function storeBatch(batch: StateUpdate[]) {
    const seen: { failed: StateUpdate[]; err?: unknown; ignored: StateUpdate[] } = { failed: [], ignored: [] };
    await storeSome(batch, seen);
    // One line a batch, not one a message: anyone on the broker can publish on these topics.
    if (seen.failed.length > 0) log.warn({ err: seen.err, count: seen.failed.length, states: seen.failed.slice(0, 20) }, 'reported state not stored');
    if (seen.ignored.length > 0) log.warn({ count: seen.ignored.length, states: seen.ignored.slice(0, 20) }, 'reported states from topics that do not carry their assets ignored');
  }

  async function storeSome(batch: StateUpdate[], seen: { failed: StateUpdate[]; err?: unknown; ignored: StateUpdate[] }) {
    let outcomes: StateOutcome[];
    try {
      outcomes = await storeReportedStates(opts.pool, batch);
    } catch (err) {
      // A batch fails as a whole: stored again one state at a time, in arrival order, one state that
      // cannot be stored costs only itself — unless the database is away or refusing work for now,
      // which one state at a time would only ask again thousands of times.
      if (batch.length === 1 || isConnectionError(err) || isDatabaseUnavailable(err)) {
        seen.failed.push(...batch);
        seen.err ??= err;
        return;
      }
      for (const one of batch) await storeSome([one], seen);
      return;
    }
    seen.ignored.push(...batch.filter((_, i) => outcomes[i] === 'not_its_topic'));
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
      clearTimeout(ackTimer);
      drainAcks();
      await Promise.all([applying, flushing]);
    },
  };
}
