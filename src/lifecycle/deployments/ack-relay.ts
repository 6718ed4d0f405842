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
import type { WarnLog } from '../throttled-warnings.ts';

export const ACKED_TOPIC = 'lifecycle.deployment.acked';

export interface AckedVersion {
  deploymentId: string;
  assetId: string;
  version: number;
  /** Request id of the deployment, so the configuration service's audit event links to it. */
  requestId: string | null;
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
 * How long a claim keeps other relays off the acks it took. A relay settles or releases its
 * claim as soon as the configuration service has answered; only a relay that stopped or died
 * in between leaves it to lapse, and its acks are then taken over and recorded (again).
 */
const CLAIM_MS = 30_000;

/**
 * Claims the oldest unrelayed acks nobody else holds, at most `$2`, for `$3` ms — rows locked
 * only for this statement (`SKIP LOCKED`: relays and instances share the work) — and returns
 * each with the user its deployment was asked for by and whether a higher (or the same, later)
 * version of its asset is queued too.
 */
const CLAIM_ACKS = `
  UPDATE lifecycle.outbox o SET claimed_until = now() + $3 * interval '1 millisecond'
    FROM (SELECT id FROM lifecycle.outbox
           WHERE published_at IS NULL AND topic = $1 AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c
   WHERE o.id = c.id
  RETURNING o.id, o.payload,
            (SELECT d.actor FROM lifecycle.deployments d WHERE d.id = (o.payload->>'deploymentId')::uuid) AS requested_by,
            EXISTS (
              SELECT 1 FROM lifecycle.outbox n
               WHERE n.topic = o.topic AND n.key = o.key AND n.id <> o.id
                 AND ((n.payload->>'version')::int > (o.payload->>'version')::int
                      OR ((n.payload->>'version')::int = (o.payload->>'version')::int AND n.id > o.id))) AS superseded`;

interface ClaimedAck {
  id: number;
  payload: AckedVersion;
  superseded: boolean;
  requested_by: AuditActor | null;
}

/** Acks claimed at once, and recorded per `markDeployedMany` call. */
export const ACKS_PER_CLAIM = 250;

/** What became of the claimed acks: the first `settled` are done with, `refusals` among them. */
interface Recorded {
  settled: number;
  refusals: Array<{ ack: AckedVersion; err: ConfigServiceError }>;
  /** Why the rest could not be recorded now (an outage): they are left for a later round. */
  paused?: unknown;
}

/**
 * Records acknowledged versions with the configuration service, oldest first, at least once.
 * Of several acks of one asset only the highest version is recorded — versions only grow, and
 * an old ack arriving late must not roll the deployed claim back. A refusal by the
 * configuration service (the asset is gone, the version would break a rule) is final and noted
 * on the target; an outage leaves the acks for the next round.
 *
 * The acks are claimed for the duration of the call (see {@link CLAIM_ACKS}), not held in an
 * open transaction, so a slow configuration service holds none of this service's connections.
 * With `markDeployedMany` up to {@link ACKS_PER_CLAIM} acks go in one call (one change set per
 * site over there), with the same outcome per ack as one at a time.
 *
 * @returns how many acks were settled; stops at the first transient failure or after `max`.
 */
export async function relayAcks(pool: pg.Pool, config: ConfigClient, log: WarnLog, max = 2000): Promise<number> {
  let settled = 0;
  while (settled < max) {
    let claimed: ClaimedAck[];
    try {
      ({ rows: claimed } = await pool.query<ClaimedAck>(CLAIM_ACKS, [ACKED_TOPIC, Math.min(ACKS_PER_CLAIM, max - settled), CLAIM_MS]));
    } catch (err) {
      log.warn({ err }, 'relaying acknowledged versions paused');
      break;
    }
    if (claimed.length === 0) break;
    claimed.sort((a, b) => a.id - b.id);
    const recorded = config.markDeployedMany ? await recordMany(config.markDeployedMany.bind(config), claimed) : await recordEach(config, claimed);
    try {
      await withTransaction(pool, async (client) => {
        for (const { ack, err } of recorded.refusals) await noteRefusal(client, ack, err, log);
        const done = claimed.slice(0, recorded.settled).map((r) => r.id);
        const rest = claimed.slice(recorded.settled).map((r) => r.id);
        if (done.length > 0) await client.query(`UPDATE lifecycle.outbox SET published_at = now(), claimed_until = NULL WHERE id = ANY($1::bigint[])`, [done]);
        if (rest.length > 0) await client.query(`UPDATE lifecycle.outbox SET claimed_until = NULL WHERE id = ANY($1::bigint[])`, [rest]);
      });
    } catch (err) {
      // Recorded over there but not settled here: the claim lapses and they are recorded again.
      log.warn({ err }, 'relaying acknowledged versions paused');
      break;
    }
    settled += recorded.settled;
    if (recorded.paused !== undefined) {
      log.warn({ err: recorded.paused }, 'relaying acknowledged versions paused');
      break;
    }
  }
  return settled;
}

/** One call for every claimed ack not superseded; a failure of the call, or a transient answer, leaves them all. */
async function recordMany(markDeployedMany: NonNullable<ConfigClient['markDeployedMany']>, claimed: ClaimedAck[]): Promise<Recorded> {
  const due = claimed.filter((r) => !r.superseded);
  if (due.length === 0) return { settled: claimed.length, refusals: [] };
  let answers: Array<ConfigServiceError | null>;
  try {
    answers = await markDeployedMany(
      due.map((r) => ({ assetId: r.payload.assetId, configVersion: r.payload.version, requestId: r.payload.requestId ?? undefined, onBehalfOf: requestingUser(r.requested_by) })),
    );
  } catch (err) {
    return { settled: 0, refusals: [], paused: err };
  }
  const transient = answers.find((a) => a && isTransient(a));
  if (transient) return { settled: 0, refusals: [], paused: transient };
  const refusals = answers.flatMap((a, i) => (a ? [{ ack: due[i].payload, err: a }] : []));
  return { settled: claimed.length, refusals };
}

/** One call per claimed ack not superseded, in order, up to the first transient failure. */
async function recordEach(config: ConfigClient, claimed: ClaimedAck[]): Promise<Recorded> {
  const refusals: Recorded['refusals'] = [];
  for (const [i, row] of claimed.entries()) {
    if (row.superseded) continue;
    const ack = row.payload;
    try {
      await config.markDeployed(ack.assetId, ack.version, ack.requestId ?? undefined, requestingUser(row.requested_by));
    } catch (err) {
      if (isTransient(err)) return { settled: i, refusals, paused: err };
      refusals.push({ ack, err: err as ConfigServiceError });
    }
  }
  return { settled: claimed.length, refusals };
}

/** An outage or an auth problem: worth trying again later, unlike a refusal. */
const isTransient = (err: unknown) => !(err instanceof ConfigServiceError) || err.status >= 500 || err.status === 401 || err.status === 403;

/** A refusal is final: the target says why its acknowledged version was not recorded. */
async function noteRefusal(client: pg.PoolClient, ack: AckedVersion, err: ConfigServiceError, log: WarnLog) {
  const why = err.status === 404 ? 'the asset no longer exists' : `it answered ${err.status}: ${problemDetail(err.problem)}`;
  await client.query(
    `UPDATE lifecycle.deployment_targets SET error = $3 WHERE deployment_id = $1 AND asset_id = $2`,
    [ack.deploymentId, ack.assetId, `acknowledged, but the configuration service did not record version ${ack.version} as deployed: ${why}`],
  );
  log.warn({ ack, status: err.status }, 'acknowledged version not recorded as deployed');
}

/** Assets whose acks one statement of {@link pruneRelayedAcks} looks at. */
const PRUNE_KEYS = 1000;

/**
 * For the next {@link PRUNE_KEYS} assets after `$2` with a relayed ack older than `$3` (in key
 * order, through the (topic, key, id) index): deletes those acks that no check still needs — every one but
 * the asset's newest and the one every other ack of it is superseded by (the highest version,
 * the later of equals: what {@link CLAIM_ACKS} compares a queued ack with). Reads only those
 * assets' rows, so a round costs one pass over the acks however many there are.
 */
const PRUNE_RELAYED_ACKS = `
  WITH keys AS (SELECT DISTINCT key FROM lifecycle.outbox
                 WHERE topic = $1 AND key > $2 AND published_at IS NOT NULL AND created_at < $3 ORDER BY key LIMIT ${PRUNE_KEYS}),
       ranked AS (
         SELECT a.id, a.published_at, a.created_at,
                a.id = max(a.id) OVER (PARTITION BY a.key) AS newest,
                row_number() OVER (PARTITION BY a.key ORDER BY (a.payload->>'version')::int DESC NULLS LAST, a.id DESC) = 1 AS highest
           FROM lifecycle.outbox a JOIN keys k ON k.key = a.key
          WHERE a.topic = $1),
       gone AS (DELETE FROM lifecycle.outbox o USING ranked r
                 WHERE o.id = r.id AND NOT r.newest AND NOT r.highest AND r.published_at IS NOT NULL AND r.created_at < $3
                 RETURNING 1)
  SELECT (SELECT max(key) FROM keys) AS last_key, (SELECT count(*) FROM keys)::int AS keys, (SELECT count(*) FROM gone)::int AS gone`;

/**
 * Deletes the relayed acks the lifecycle outbox no longer needs once they were queued more than
 * `retentionMs` ago: of each asset, its newest and the one that supersedes the others stay, which
 * still tell a late ack of an older version superseded; an ack not yet relayed always stays.
 * A late ack of a deployment whose rows went is no longer known as a repeat: it is noted on its
 * target again and relayed again, and settled unrecorded (a higher version was acked since) or
 * recorded at the version the asset is recorded at already. Run with the outbox's own pruning
 * (src/events/prune.ts).
 *
 * @returns how many rows were deleted.
 */
export async function pruneRelayedAcks(pool: pg.Pool, retentionMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - retentionMs);
  let deleted = 0;
  let after = '';
  for (;;) {
    const { rows } = await pool.query<{ last_key: string | null; keys: number; gone: number }>(PRUNE_RELAYED_ACKS, [ACKED_TOPIC, after, cutoff]);
    deleted += rows[0].gone;
    if (rows[0].keys < PRUNE_KEYS || rows[0].last_key === null) return deleted;
    after = rows[0].last_key;
  }
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

function problemDetail(problem: unknown): string {
  if (problem && typeof problem === 'object' && 'detail' in problem) return String((problem as { detail: unknown }).detail);
  return JSON.stringify(problem);
}
