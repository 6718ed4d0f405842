/**
 * What an ack does to its deployment target, for one ack or for a burst of them in one
 * transaction. Status changes are guarded by the target's current status (under its row lock),
 * so duplicates — QoS 1 redelivery, several instances, a gateway answering a resend — change
 * nothing twice.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/tx.ts';
import type { AckPayload, ParsedTopic } from '../../mqtt/topics.ts';
import { ACKED_TOPIC, enqueueAckedMany, type AckedVersion } from './ack-relay.ts';

export type AckOutcome = 'acked' | 'failed' | 'late' | 'duplicate' | 'unknown' | 'mismatch';

/** An ack as it came in: its topic says which gateway and site sent it. */
export interface ReceivedAck {
  topic: ParsedTopic;
  ack: AckPayload;
}

/**
 * Applies one ack. An `applied` ack for an open target (pending or sent) makes it `acked` and
 * queues the version for the configuration service's deployed claims; `rejected` makes it
 * `failed` with the gateway's error. A late `applied` ack (the target timed out, or was
 * cancelled, after it was sent) leaves the target's status as it is but is still recorded as
 * deployed: the device does run that version now. Acks naming another version, gateway or
 * site than the target's are ignored.
 *
 * @example
 *   await applyAck(pool, parseTopic(topicName)!, parseAck(message)!); // 'acked'
 */
export async function applyAck(pool: pg.Pool, topic: ParsedTopic, ack: AckPayload): Promise<AckOutcome> {
  const [outcome] = await applyAcks(pool, [{ topic, ack }]);
  return outcome;
}

interface LockedTarget {
  deployment_id: string;
  asset_id: string;
  status: string;
  config_version: number;
  gateway_id: string;
  site_code: string;
  was_sent: boolean;
  request_id: string | null;
}

type TargetChange = { kind: 'acked' } | { kind: 'failed'; error: string } | { kind: 'late' };

/**
 * {@link applyAck} for many acks in one transaction, in their arrival order: the outcome of
 * each is what applying them one after the other would give (the first answer of an open
 * target decides, later ones are duplicates; a late ack is recorded once). One statement locks
 * every target the acks name, in key order (so two instances applying overlapping bursts never
 * deadlock), one writes every change and queues every acknowledged version.
 *
 * @returns the outcome of each ack, in the order given.
 */
export async function applyAcks(pool: pg.Pool, acks: ReceivedAck[]): Promise<AckOutcome[]> {
  const outcomes: Array<AckOutcome | undefined> = acks.map(({ topic, ack }) => (ack.assetId !== topic.assetId ? 'mismatch' : undefined));
  const keyOf = (deploymentId: string, assetId: string) => `${deploymentId}/${assetId}`;
  const pairs = new Map<string, { deploymentId: string; assetId: string }>();
  for (const [i, { ack }] of acks.entries()) if (!outcomes[i]) pairs.set(keyOf(ack.deploymentId, ack.assetId), { deploymentId: ack.deploymentId, assetId: ack.assetId });
  if (pairs.size === 0) return outcomes as AckOutcome[];

  return withTransaction(pool, async (client) => {
    const result = [...outcomes];
    const { rows } = await client.query<LockedTarget>(
      `SELECT t.deployment_id, t.asset_id, t.status, t.config_version, t.gateway_id, t.site_code, t.sent_at IS NOT NULL AS was_sent, d.request_id
         FROM lifecycle.deployment_targets t
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(deployment_id, asset_id) ON k.deployment_id = t.deployment_id AND k.asset_id = t.asset_id
         JOIN lifecycle.deployments d ON d.id = t.deployment_id
        ORDER BY t.deployment_id, t.asset_id FOR UPDATE OF t`,
      [[...pairs.values()].map((p) => p.deploymentId), [...pairs.values()].map((p) => p.assetId)],
    );
    const targets = new Map(rows.map((t) => [keyOf(t.deployment_id, t.asset_id), t]));
    // Read after the row locks, so an instance that recorded the same late ack first is seen.
    const queued = await queuedAcks(client, rows.filter((t) => t.was_sent && (t.status === 'timed_out' || t.status === 'cancelled')));

    const changes = new Map<string, TargetChange>();
    const enqueue: AckedVersion[] = [];
    for (const [i, { topic, ack }] of acks.entries()) {
      if (result[i]) continue;
      const key = keyOf(ack.deploymentId, ack.assetId);
      const t = targets.get(key);
      if (!t) {
        result[i] = 'unknown';
        continue;
      }
      if (t.config_version !== ack.version || t.gateway_id !== topic.gatewayId || t.site_code !== topic.siteCode) {
        result[i] = 'mismatch';
        continue;
      }
      const acked: AckedVersion = { deploymentId: ack.deploymentId, assetId: ack.assetId, version: ack.version, requestId: t.request_id };
      if (t.status === 'pending' || t.status === 'sent') {
        if (ack.status === 'applied') {
          changes.set(key, { kind: 'acked' });
          enqueue.push(acked);
          t.status = 'acked';
          result[i] = 'acked';
        } else {
          changes.set(key, { kind: 'failed', error: `rejected by the gateway: ${ack.error ?? 'no reason given'}` });
          t.status = 'failed';
          result[i] = 'failed';
        }
        continue;
      }
      if (ack.status === 'applied' && t.was_sent && (t.status === 'timed_out' || t.status === 'cancelled') && !queued.has(key)) {
        changes.set(key, { kind: 'late' });
        enqueue.push(acked);
        queued.add(key);
        result[i] = 'late';
        continue;
      }
      result[i] = 'duplicate';
    }

    if (changes.size > 0) {
      const list = [...changes.entries()].map(([key, change]) => ({ ...(targets.get(key) as LockedTarget), change }));
      await client.query(
        `UPDATE lifecycle.deployment_targets t
            SET status = CASE u.kind WHEN 'late' THEN t.status ELSE u.kind END,
                error = CASE u.kind
                          WHEN 'acked' THEN NULL
                          WHEN 'failed' THEN u.error
                          ELSE concat_ws('; ', t.error, 'acknowledged late, at ' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                        END,
                finished_at = CASE u.kind WHEN 'late' THEN t.finished_at ELSE now() END,
                acked_at = CASE u.kind WHEN 'failed' THEN t.acked_at ELSE now() END
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS u(deployment_id, asset_id, kind, error)
          WHERE t.deployment_id = u.deployment_id AND t.asset_id = u.asset_id`,
        [
          list.map((c) => c.deployment_id),
          list.map((c) => c.asset_id),
          list.map((c) => c.change.kind),
          list.map((c) => (c.change.kind === 'failed' ? c.change.error : null)),
        ],
      );
    }
    await enqueueAckedMany(client, enqueue);
    return result as AckOutcome[];
  });
}

/** Which of these targets already have an acknowledged version queued (`deployment/asset` keys). */
async function queuedAcks(client: pg.PoolClient, targets: LockedTarget[]): Promise<Set<string>> {
  if (targets.length === 0) return new Set();
  const { rows } = await client.query<{ key: string; deployment_id: string }>(
    `SELECT DISTINCT key, payload->>'deploymentId' AS deployment_id FROM lifecycle.outbox WHERE topic = $1 AND key = ANY($2::text[])`,
    [ACKED_TOPIC, [...new Set(targets.map((t) => t.asset_id))]],
  );
  const wanted = new Set(targets.map((t) => `${t.deployment_id}/${t.asset_id}`));
  return new Set(rows.map((r) => `${r.deployment_id}/${r.key}`).filter((k) => wanted.has(k)));
}
