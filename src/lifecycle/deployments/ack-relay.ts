/**
 * Acknowledged versions travel to the configuration service through the lifecycle outbox:
 * the ack's transaction writes the target's new status and an outbox row together, and the
 * relay turns each row into `ConfigClient.markDeployed` at least once. A crash between the
 * two loses nothing, and nothing is marked deployed that no device acknowledged.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/tx.ts';
import type { AuditActor } from '../../audit/types.ts';
import { ConfigServiceError, type ConfigClient } from '../config-client.ts';

export const ACKED_TOPIC = 'lifecycle.deployment.acked';

export interface AckedVersion {
  deploymentId: string;
  assetId: string;
  version: number;
  /** Request id of the deployment, so the configuration service's audit event links to it. */
  requestId: string | null;
}

export interface RelayLog {
  warn(obj: object, msg: string): void;
}

/** Queues the recording of an acknowledged version, inside the ack's transaction. */
export async function enqueueAcked(client: pg.PoolClient, ack: AckedVersion): Promise<void> {
  await client.query(`INSERT INTO lifecycle.outbox (topic, key, payload) VALUES ($1, $2, $3)`, [ACKED_TOPIC, ack.assetId, JSON.stringify(ack)]);
}

/**
 * {@link enqueueAcked} for several acks in one statement; their rows are numbered in the order
 * given (the relay tells an asset's later ack of one version by its higher id).
 */
export async function enqueueAckedMany(client: pg.PoolClient, acks: AckedVersion[]): Promise<void> {
  if (acks.length === 0) return;
  await client.query(
    `INSERT INTO lifecycle.outbox (topic, key, payload)
     SELECT $1, a.key, a.payload FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS a(key, payload, n) ORDER BY a.n`,
    [ACKED_TOPIC, acks.map((a) => a.assetId), acks.map((a) => JSON.stringify(a))],
  );
}

/**
 * The oldest unrelayed acks, at most `$2`, locked (`SKIP LOCKED`: instances share the work),
 * each with the user its deployment was asked for by and whether a higher (or the same, later)
 * version of its asset is queued too.
 */
const CLAIM_ACKS = `SELECT o.id, o.payload,
                (SELECT d.actor FROM lifecycle.deployments d WHERE d.id = (o.payload->>'deploymentId')::uuid) AS requested_by,
                EXISTS (
                  SELECT 1 FROM lifecycle.outbox n
                   WHERE n.topic = o.topic AND n.key = o.key AND n.id <> o.id
                     AND ((n.payload->>'version')::int > (o.payload->>'version')::int
                          OR ((n.payload->>'version')::int = (o.payload->>'version')::int AND n.id > o.id))) AS superseded
           FROM lifecycle.outbox o
          WHERE o.published_at IS NULL AND o.topic = $1
          ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED`;

interface ClaimedAck {
  id: number;
  payload: AckedVersion;
  superseded: boolean;
  requested_by: AuditActor | null;
}

/**
 * Claims the oldest unrelayed ack (`FOR UPDATE SKIP LOCKED`, so instances share the work) and
 * records it. Of several acks of one asset only the highest version is recorded — versions
 * only grow, and an old ack arriving late must not roll the deployed claim back. A refusal by
 * the configuration service (the asset is gone, the version would break a rule) is final and
 * noted on the target; an outage leaves the row for the next round.
 *
 * @returns how many rows were settled; stops at the first transient failure.
 */
export async function relayAcks(pool: pg.Pool, config: ConfigClient, log: RelayLog, max?: number): Promise<number> {
  if (config.markDeployedMany) return relayAckBatches(pool, config.markDeployedMany.bind(config), log, max ?? 2000);
  let settled = 0;
  max ??= 100;
  while (settled < max) {
    const outcome = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<ClaimedAck>(
        CLAIM_ACKS,
        [ACKED_TOPIC, 1],
      );
      const row = rows[0];
      if (!row) return 'empty' as const;
      const ack = row.payload;
      if (!row.superseded) {
        try {
          await config.markDeployed(ack.assetId, ack.version, ack.requestId ?? undefined, requestingUser(row.requested_by));
        } catch (err) {
          if (isTransient(err)) throw new TransientFailure(err);
          await noteRefusal(client, ack, err as ConfigServiceError, log);
        }
      }
      await client.query(`UPDATE lifecycle.outbox SET published_at = now() WHERE id = $1`, [row.id]);
      return 'settled' as const;
    }).catch((err: unknown) => {
      log.warn({ err: err instanceof TransientFailure ? err.cause : err }, 'relaying acknowledged versions paused');
      return 'paused' as const;
    });
    if (outcome !== 'settled') break;
    settled++;
  }
  return settled;
}

/** Acks recorded per `markDeployedMany` call (each call is one transaction here, holding their rows). */
const ACKS_PER_CALL = 250;

/**
 * {@link relayAcks} for a configuration service that records many acks per call: each round
 * claims up to {@link ACKS_PER_CALL} rows in one transaction and records the ones not superseded in
 * one `markDeployedMany` call (one change set per site over there), with the same outcomes per
 * ack: recorded, refused for good (noted on the target), or — when the call fails as a whole —
 * left for the next round.
 */
async function relayAckBatches(pool: pg.Pool, markDeployedMany: NonNullable<ConfigClient['markDeployedMany']>, log: RelayLog, max: number): Promise<number> {
  let settled = 0;
  while (settled < max) {
    const outcome = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<ClaimedAck>(CLAIM_ACKS, [ACKED_TOPIC, Math.min(ACKS_PER_CALL, max - settled)]);
      if (rows.length === 0) return 0;
      const due = rows.filter((r) => !r.superseded);
      if (due.length > 0) {
        let answers: Array<ConfigServiceError | null>;
        try {
          answers = await markDeployedMany(
            due.map((r) => ({ assetId: r.payload.assetId, configVersion: r.payload.version, requestId: r.payload.requestId ?? undefined, onBehalfOf: requestingUser(r.requested_by) })),
          );
        } catch (err) {
          throw isTransient(err) ? new TransientFailure(err) : err;
        }
        for (const [i, refusal] of answers.entries()) {
          if (!refusal) continue;
          if (isTransient(refusal)) throw new TransientFailure(refusal);
          await noteRefusal(client, due[i].payload, refusal, log);
        }
      }
      await client.query(`UPDATE lifecycle.outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      return rows.length;
    }).catch((err: unknown) => {
      log.warn({ err: err instanceof TransientFailure ? err.cause : err }, 'relaying acknowledged versions paused');
      return -1;
    });
    if (outcome <= 0) break;
    settled += outcome;
  }
  return settled;
}

/** An outage or an auth problem: worth trying again later, unlike a refusal. */
const isTransient = (err: unknown) => !(err instanceof ConfigServiceError) || err.status >= 500 || err.status === 401 || err.status === 403;

/** A refusal is final: the target says why its acknowledged version was not recorded. */
async function noteRefusal(client: pg.PoolClient, ack: AckedVersion, err: ConfigServiceError, log: RelayLog) {
  const why = err.status === 404 ? 'the asset no longer exists' : `it answered ${err.status}: ${problemDetail(err.problem)}`;
  await client.query(
    `UPDATE lifecycle.deployment_targets SET error = $3 WHERE deployment_id = $1 AND asset_id = $2`,
    [ack.deploymentId, ack.assetId, `acknowledged, but the configuration service did not record version ${ack.version} as deployed: ${why}`],
  );
  log.warn({ ack, status: err.status }, 'acknowledged version not recorded as deployed');
}

/**
 * Whether acks of `deploymentId` still wait to be recorded (a batch is not over until they are).
 * The topic is part of the text so the partial index of unrelayed acks applies.
 */
export async function hasUnrelayedAcks(db: pg.PoolClient | pg.Pool, deploymentId: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM lifecycle.outbox WHERE published_at IS NULL AND topic = '${ACKED_TOPIC}' AND payload->>'deploymentId' = $1 LIMIT 1`, [
    deploymentId,
  ]);
  return rows.length > 0;
}

/** Whether an ack of this deployment and asset was already queued (late acks are recorded once). */
export async function ackQueued(client: pg.PoolClient, deploymentId: string, assetId: string): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT 1 FROM lifecycle.outbox WHERE topic = $1 AND key = $2 AND payload->>'deploymentId' = $3 LIMIT 1`,
    [ACKED_TOPIC, assetId, deploymentId],
  );
  return rows.length > 0;
}

/**
 * The user a deployment was asked for by — a user, or the creator an API token acts for —
 * on whose behalf the deployed version is recorded, so the configuration service's audit event
 * names them; none for a system.
 */
export function requestingUser(actor: AuditActor | null): { id: string; name: string } | undefined {
  if (!actor) return undefined;
  if (actor.type === 'user') return { id: actor.id, name: actor.name };
  if (actor.onBehalfOf?.type === 'user') return { id: actor.onBehalfOf.id, name: actor.onBehalfOf.name };
  return undefined;
}

class TransientFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('transient failure of the configuration service');
  }
}

function problemDetail(problem: unknown): string {
  if (problem && typeof problem === 'object' && 'detail' in problem) return String((problem as { detail: unknown }).detail);
  return JSON.stringify(problem);
}
