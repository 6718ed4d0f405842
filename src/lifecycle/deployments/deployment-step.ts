/**
 * Steps of running deployments: what is due now for each, as state changes and audit events in
 * the caller's transaction (the runner's, which holds the deployments' row locks and their
 * sites' deployment locks). Several deployments are stepped together, each statement covering
 * all of them; each deployment gets what stepping it alone would give it. Publishing what the
 * steps decided to send is the caller's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import {
  auditDeploymentSteps,
  auditState,
  loadDeployments,
  loadStepStates,
  runnerActor,
  targetToSend,
  type DeploymentStep,
  type DeploymentView,
  type StepState,
  type TargetToSend,
} from './deployment-store.ts';
import { nextStep } from './next-step.ts';

/** Whether this instance has published the target over its current broker connection. */
export type PublishedHere = (deploymentId: string, assetId: string) => boolean;

type Audited = { deployment: DeploymentView; step: DeploymentStep };

/**
 * For each deployment: times out the silent targets of its current batch; takes back for
 * sending those the caller has not published itself (`published`: it took the deployment
 * over, or its broker connection came up since), restarting their timeouts — their answer may
 * have gone unheard while no one listened; and, when the batch is over and its acks are
 * recorded, starts the next batch, aborts or finishes (`next-step.ts`). Every change is
 * audited in the site's chain: a finished batch, then what follows it.
 *
 * @returns the targets to publish before the commit, ordered by deployment and asset.
 * @example
 *   const sends = await stepDeployments(client, ids, (d, a) => published.get(d)?.has(a) ?? false);
 */
export async function stepDeployments(client: pg.PoolClient, ids: string[], published: PublishedHere): Promise<TargetToSend[]> {
  const states = await loadStepStates(client, ids);
  const sends: TargetToSend[] = [];
  const inBatch = [...states.values()].filter((s) => s.deployment.currentBatch > 0 && s.sent.length > 0);
  const resend = inBatch.flatMap((s) => s.sent.filter((assetId) => !published(s.deployment.id, assetId)).map((assetId) => ({ deploymentId: s.deployment.id, assetId })));
  if (resend.length > 0) sends.push(...(await resendTargets(client, resend)));
  if (inBatch.length > 0) {
    const timedOut = await timeOutSilentTargets(client, inBatch.map((s) => s.deployment.id));
    if (timedOut.length > 0) for (const [id, state] of await loadStepStates(client, timedOut)) states.set(id, state);
  }

  const finishedBatches: Audited[] = [];
  const starts: Array<{ deployment: DeploymentView; batch: number }> = [];
  const ends: Array<{ deployment: DeploymentView; status: string; reason: string | null; abort: boolean }> = [];
  for (const state of states.values()) {
    const d = state.deployment;
    const decision = decide(state);
    if (decision.kind === 'wait') continue;
    const step = (action: string, after: object): DeploymentStep => ({ action, actor: runnerActor(d.actor), requestId: d.requestId, before: auditState(d), after });
    if (d.currentBatch > 0) finishedBatches.push({ deployment: d, step: step('finish-batch', { ...auditState(d), batch: d.currentBatch, results: state.results }) });
    if (decision.kind === 'start-batch') starts.push({ deployment: d, batch: decision.batch });
    else ends.push({ deployment: d, status: decision.kind === 'abort' ? 'aborted' : decision.status, reason: decision.reason, abort: decision.kind === 'abort' });
  }
  if (starts.length === 0 && ends.length === 0) return sends;

  if (finishedBatches.length > 0) await auditDeploymentSteps(client, finishedBatches);
  const lastAudit = finishedBatches.length > 0 ? Date.now() : 0;
  const started = starts.length > 0 ? (await startBatches(client, starts.map((s) => ({ id: s.deployment.id, batch: s.batch })))).sort(byTarget) : [];
  sends.push(...started);
  if (ends.length > 0) await endDeployments(client, ends.map((e) => ({ id: e.deployment.id, status: e.status, reason: e.reason, abort: e.abort })));

  const after = await loadDeployments(client, [...starts, ...ends].map((x) => x.deployment.id));
  const next: Audited[] = [];
  for (const { deployment: d, batch } of starts) {
    const now = after.get(d.id);
    const assetIds = started.filter((t) => t.deploymentId === d.id).map((t) => t.assetId);
    if (now) next.push({ deployment: d, step: { action: 'start-batch', actor: runnerActor(d.actor), requestId: d.requestId, before: auditState(d), after: { ...auditState(now), batch, assetIds } } });
  }
  for (const { deployment: d, abort } of ends) {
    const now = after.get(d.id);
    if (now) next.push({ deployment: d, step: { action: abort ? 'abort' : 'finish', actor: runnerActor(d.actor), requestId: d.requestId, before: auditState(d), after: auditState(now) } });
  }
  // Readers order a deployment's events by time: what follows a finished batch is a later one.
  while (Date.now() <= lastAudit) await sleep(1);
  await auditDeploymentSteps(client, next);
  return sends.sort(byTarget);
}

function decide(state: StepState) {
  const d = state.deployment;
  return nextStep({
    currentBatch: d.currentBatch,
    batches: d.batches,
    current: state.current,
    soFar: state.soFar,
    failureThreshold: d.failureThreshold,
    recordingAcks: d.currentBatch > 0 && state.recordingAcks,
  });
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byTarget = (a: TargetToSend, b: TargetToSend) => compare(a.deploymentId, b.deploymentId) || compare(a.assetId, b.assetId);

/** Restarts the timeouts of these sent targets; returns them to publish again. */
async function resendTargets(client: pg.PoolClient, targets: Array<{ deploymentId: string; assetId: string }>): Promise<TargetToSend[]> {
  const { rows } = await client.query(
    `UPDATE lifecycle.deployment_targets t SET sent_at = now()
       FROM unnest($1::uuid[], $2::uuid[]) AS r(deployment_id, asset_id)
      WHERE t.deployment_id = r.deployment_id AND t.asset_id = r.asset_id AND t.status = 'sent'
     RETURNING t.*`,
    [targets.map((t) => t.deploymentId), targets.map((t) => t.assetId)],
  );
  return rows.map(targetToSend);
}

/** Times out the sent targets of these deployments' current batches past their timeout; returns the deployments that had one. */
async function timeOutSilentTargets(client: pg.PoolClient, ids: string[]): Promise<string[]> {
  const { rows } = await client.query<{ deployment_id: string }>(
    `UPDATE lifecycle.deployment_targets t SET status = 'timed_out', finished_at = now(), error = 'no acknowledgement within ' || d.timeout_ms || ' ms'
       FROM lifecycle.deployments d
      WHERE d.id = ANY($1::uuid[]) AND t.deployment_id = d.id AND t.batch = d.current_batch AND t.status = 'sent'
        AND t.sent_at + d.timeout_ms * interval '1 millisecond' < now()
     RETURNING t.deployment_id`,
    [ids],
  );
  return [...new Set(rows.map((r) => r.deployment_id))];
}

/** Makes each deployment's `batch` its current one and its pending targets sent; returns them to publish. */
async function startBatches(client: pg.PoolClient, starts: Array<{ id: string; batch: number }>): Promise<TargetToSend[]> {
  const { rows } = await client.query(
    `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS s(id, batch)),
          current AS (UPDATE lifecycle.deployments d SET current_batch = s.batch, updated_at = now() FROM s WHERE d.id = s.id)
     UPDATE lifecycle.deployment_targets t SET status = 'sent', sent_at = now()
       FROM s WHERE t.deployment_id = s.id AND t.batch = s.batch AND t.status = 'pending'
     RETURNING t.*`,
    [starts.map((s) => s.id), starts.map((s) => s.batch)],
  );
  return rows.map(targetToSend);
}

/** Ends these deployments; an aborted one's targets not yet sent are cancelled. */
async function endDeployments(client: pg.PoolClient, ends: Array<{ id: string; status: string; reason: string | null; abort: boolean }>): Promise<void> {
  const aborted = ends.filter((e) => e.abort);
  if (aborted.length > 0) {
    await client.query(
      `UPDATE lifecycle.deployment_targets t SET status = 'cancelled', finished_at = now(), error = a.error
         FROM unnest($1::uuid[], $2::text[]) AS a(id, error)
        WHERE t.deployment_id = a.id AND t.status = 'pending'`,
      [aborted.map((e) => e.id), aborted.map((e) => `not sent: the deployment was aborted (${e.reason})`)],
    );
  }
  await client.query(
    `UPDATE lifecycle.deployments d SET status = e.status, reason = e.reason, updated_at = now(), finished_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS e(id, status, reason)
      WHERE d.id = e.id`,
    [ends.map((e) => e.id), ends.map((e) => e.status), ends.map((e) => e.reason)],
  );
}
