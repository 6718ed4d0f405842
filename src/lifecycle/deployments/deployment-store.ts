/**
 * The deployments' rows in `lifecycle.deployments` and `lifecycle.deployment_targets`, and
 * their JSON views. State lives here, not in memory, so any instance can resume any
 * deployment after a restart.
 */
import type pg from 'pg';
import { appendAuditEvents } from '../../audit/append.ts';
import type { AuditActor } from '../../audit/types.ts';
import { ACKED_TOPIC } from './ack-relay.ts';
import { emptyCounts, type TargetCounts, type TargetStatus } from './next-step.ts';
import type { PlannedTarget } from './plan-targets.ts';

export const DEPLOYMENT_STATUSES = ['running', 'succeeded', 'failed', 'aborted', 'cancelled'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

type Db = pg.Pool | pg.PoolClient;

/** A deployment with per-status counts of its targets. */
export interface DeploymentView {
  id: string;
  orgId: string;
  siteId: string;
  status: DeploymentStatus;
  batchSize: number;
  failureThreshold: number;
  timeoutMs: number;
  /** 0 until the first batch starts. */
  currentBatch: number;
  batches: number;
  comment: string | null;
  /** Why it was aborted, cancelled or failed. */
  reason: string | null;
  actor: AuditActor;
  requestId: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  targets: TargetCounts & { total: number };
}

export interface TargetView {
  assetId: string;
  gatewayId: string;
  siteCode: string;
  batch: number;
  configVersion: number;
  configHash: string;
  status: TargetStatus;
  error: string | null;
  sentAt: string | null;
  finishedAt: string | null;
}

/** A target as the runner needs it to publish. */
export interface TargetToSend extends PlannedTarget {
  deploymentId: string;
}

const SUMMARY_SELECT = `
  SELECT d.*, to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key, c.*
    FROM lifecycle.deployments d
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS total, coalesce(max(batch), 0)::int AS batches,
             count(*) FILTER (WHERE status = 'pending')::int AS n_pending,
             count(*) FILTER (WHERE status = 'sent')::int AS n_sent,
             count(*) FILTER (WHERE status = 'acked')::int AS n_acked,
             count(*) FILTER (WHERE status = 'failed')::int AS n_failed,
             count(*) FILTER (WHERE status = 'timed_out')::int AS n_timed_out,
             count(*) FILTER (WHERE status = 'cancelled')::int AS n_cancelled
        FROM lifecycle.deployment_targets t WHERE t.deployment_id = d.id) c`;

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

function deploymentView(r: Record<string, unknown>): DeploymentView {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    siteId: r.site_id as string,
    status: r.status as DeploymentStatus,
    batchSize: r.batch_size as number,
    failureThreshold: Number(r.failure_threshold),
    timeoutMs: r.timeout_ms as number,
    currentBatch: r.current_batch as number,
    batches: r.batches as number,
    comment: r.comment as string | null,
    reason: r.reason as string | null,
    actor: r.actor as AuditActor,
    requestId: r.request_id as string | null,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
    finishedAt: iso(r.finished_at),
    targets: {
      total: r.total as number,
      pending: r.n_pending as number,
      sent: r.n_sent as number,
      acked: r.n_acked as number,
      failed: r.n_failed as number,
      timed_out: r.n_timed_out as number,
      cancelled: r.n_cancelled as number,
    },
  };
}

function targetView(r: Record<string, unknown>): TargetView {
  return {
    assetId: r.asset_id as string,
    gatewayId: r.gateway_id as string,
    siteCode: r.site_code as string,
    batch: r.batch as number,
    configVersion: r.config_version as number,
    configHash: r.config_hash as string,
    status: r.status as TargetStatus,
    error: r.error as string | null,
    sentAt: iso(r.sent_at),
    finishedAt: iso(r.finished_at),
  };
}

export interface NewDeployment {
  id: string;
  orgId: string;
  siteId: string;
  batchSize: number;
  failureThreshold: number;
  timeoutMs: number;
  actor: AuditActor;
  requestId: string | null;
  comment: string | null;
  /** The site revision the targets were planned on (unknown: withdrawn with any asset that leaves service). */
  siteRevision?: number;
}

/**
 * Inserts a running deployment and its pending targets, in one statement, and returns it as
 * stored (nothing of it started yet).
 */
export async function insertDeployment(client: pg.PoolClient, d: NewDeployment, targets: PlannedTarget[]): Promise<DeploymentView> {
  const { rows } = await client.query(
    `WITH d AS (
       INSERT INTO lifecycle.deployments (id, org_id, site_id, status, batch_size, failure_threshold, timeout_ms, actor, request_id, comment, site_revision)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $11)
       RETURNING *),
     t AS (
       INSERT INTO lifecycle.deployment_targets (deployment_id, asset_id, gateway_id, site_code, batch, config_version, config_hash, config, status)
       SELECT $1, t.asset_id, t.gateway_id, t.site_code, t.batch, t.config_version, t.config_hash, t.config, 'pending'
         FROM jsonb_to_recordset($10::jsonb) AS t(asset_id uuid, gateway_id uuid, site_code text, batch int, config_version int, config_hash text, config jsonb)
       RETURNING batch)
     SELECT d.*, (SELECT count(*)::int FROM t) AS total, (SELECT coalesce(max(batch), 0)::int FROM t) AS batches FROM d`,
    [
      d.id,
      d.orgId,
      d.siteId,
      d.batchSize,
      d.failureThreshold,
      d.timeoutMs,
      JSON.stringify(d.actor),
      d.requestId,
      d.comment,
      JSON.stringify(
        targets.map((t) => ({
          asset_id: t.assetId,
          gateway_id: t.gatewayId,
          site_code: t.siteCode,
          batch: t.batch,
          config_version: t.configVersion,
          config_hash: t.configHash,
          config: t.config,
        })),
      ),
      d.siteRevision ?? null,
    ],
  );
  const r = rows[0];
  return deploymentView({ ...r, n_pending: r.total, n_sent: 0, n_acked: 0, n_failed: 0, n_timed_out: 0, n_cancelled: 0 });
}

export async function loadDeployment(db: Db, id: string): Promise<DeploymentView | undefined> {
  const { rows } = await db.query(`${SUMMARY_SELECT} WHERE d.id = $1`, [id]);
  return rows[0] && deploymentView(rows[0]);
}

export async function loadTargets(db: Db, deploymentId: string): Promise<TargetView[]> {
  const { rows } = await db.query(
    `SELECT * FROM lifecycle.deployment_targets WHERE deployment_id = $1 ORDER BY batch, asset_id`,
    [deploymentId],
  );
  return rows.map(targetView);
}

export interface ListFilter {
  siteId?: string;
  status?: DeploymentStatus;
  after?: { at: string; id: string } | null;
  limit: number;
  /** Only deployments in these organisations (a null site: all of its sites); null: every one. */
  scopes?: Array<{ orgId: string; siteId: string | null }> | null;
}

/** Deployments newest first; fetches `limit + 1` rows so the caller can tell whether more exist. */
export async function listDeployments(db: Db, f: ListFilter): Promise<Array<DeploymentView & { cursorKey: string }>> {
  const { rows } = await db.query(
    `${SUMMARY_SELECT}
      WHERE ($1::uuid IS NULL OR d.site_id = $1) AND ($2::text IS NULL OR d.status = $2)
        AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
        AND ($6::jsonb IS NULL OR EXISTS (
              SELECT 1 FROM jsonb_to_recordset($6::jsonb) AS s("orgId" uuid, "siteId" uuid)
               WHERE s."orgId" = d.org_id AND (s."siteId" IS NULL OR s."siteId" = d.site_id)))
      ORDER BY d.created_at DESC, d.id DESC LIMIT $5`,
    [f.siteId ?? null, f.status ?? null, f.after?.at ?? null, f.after?.id ?? null, f.limit + 1, f.scopes ? JSON.stringify(f.scopes) : null],
  );
  return rows.map((r) => ({ ...deploymentView(r), cursorKey: r.created_key as string }));
}

/** A target row as the runner publishes it. */
export const targetToSend = (r: Record<string, unknown>): TargetToSend => ({
  deploymentId: r.deployment_id as string,
  assetId: r.asset_id as string,
  gatewayId: r.gateway_id as string,
  siteCode: r.site_code as string,
  batch: r.batch as number,
  configVersion: r.config_version as number,
  configHash: r.config_hash as string,
  config: r.config as Record<string, unknown>,
});

/** Deployments by id (those that exist), with their target counts. */
export async function loadDeployments(db: Db, ids: readonly string[]): Promise<Map<string, DeploymentView>> {
  const { rows } = await db.query(`${SUMMARY_SELECT} WHERE d.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id as string, deploymentView(r)]));
}

/** What a step of the runner decides on, read in one statement (one snapshot). */
export interface StepState {
  deployment: DeploymentView;
  /** Targets of the current batch sent and still unanswered. */
  sent: string[];
  /** Per-status counts of the current batch and of every batch up to it. */
  current: TargetCounts;
  soFar: TargetCounts;
  /** Acknowledged versions of the deployment not yet recorded by the configuration service. */
  recordingAcks: boolean;
  /** How each target of the current batch stands, for the batch's audit event. */
  results: Array<{ assetId: string; status: TargetStatus; error: string | null }>;
}

const STEP_STATES = `
  SELECT s.*, b.results, p.progress, r.recording
    FROM (${SUMMARY_SELECT} WHERE d.id = ANY($1::uuid[])) s
    CROSS JOIN LATERAL (
      SELECT coalesce(jsonb_agg(jsonb_build_object('assetId', t.asset_id, 'status', t.status, 'error', t.error) ORDER BY t.asset_id), '[]') AS results
        FROM lifecycle.deployment_targets t WHERE t.deployment_id = s.id AND t.batch = s.current_batch) b
    CROSS JOIN LATERAL (
      SELECT coalesce(jsonb_agg(jsonb_build_array(g.status, g.current, g.so_far)), '[]') AS progress
        FROM (SELECT t.status, count(*) FILTER (WHERE t.batch = s.current_batch)::int AS current, count(*)::int AS so_far
                FROM lifecycle.deployment_targets t WHERE t.deployment_id = s.id AND t.batch <= s.current_batch GROUP BY t.status) g) p
    CROSS JOIN LATERAL (
      SELECT EXISTS (SELECT 1 FROM lifecycle.outbox o
                      WHERE o.published_at IS NULL AND o.topic = '${ACKED_TOPIC}' AND o.payload->>'deploymentId' = s.id::text) AS recording) r`;

/**
 * Deployments with what a runner step decides on — the current batch's targets, the progress
 * counts and whether acks still wait to be recorded — from one snapshot, so for each the
 * counts and the acks agree.
 */
export async function loadStepStates(client: pg.PoolClient, ids: readonly string[]): Promise<Map<string, StepState>> {
  const { rows } = await client.query(STEP_STATES, [ids]);
  const states = new Map<string, StepState>();
  for (const r of rows) {
    const current = emptyCounts();
    const soFar = emptyCounts();
    for (const [status, cur, so] of r.progress as Array<[TargetStatus, number, number]>) {
      current[status] = cur;
      soFar[status] = so;
    }
    const results = r.results as StepState['results'];
    states.set(r.id as string, {
      deployment: deploymentView(r),
      sent: results.filter((t) => t.status === 'sent').map((t) => t.assetId),
      current,
      soFar,
      recordingAcks: r.recording as boolean,
      results,
    });
  }
  return states;
}

/** The runner acts on behalf of whoever requested the deployment. */
export function runnerActor(requestedBy: AuditActor): AuditActor {
  const { onBehalfOf: _ignored, ...principal } = requestedBy;
  return { type: 'system', id: 'lifecycle:deployment-runner', name: 'deployment runner', onBehalfOf: principal };
}

/** A step of a deployment, as its audit event records it. */
export interface DeploymentStep {
  action: string;
  actor: AuditActor;
  requestId: string | null;
  comment?: string | null;
  before: object | null;
  after: object | null;
  sourceIp?: string | null;
}

/**
 * Records a step of deployment `d` in the site's audit chain, inside the caller's
 * transaction (the one that made the step).
 */
export async function auditDeployment(client: pg.PoolClient, d: Pick<DeploymentView, 'id' | 'orgId' | 'siteId'>, step: DeploymentStep): Promise<void> {
  await auditDeploymentSteps(client, [{ deployment: d, step }]);
}

/** {@link auditDeployment} for steps of several deployments at once (one append). */
export async function auditDeploymentSteps(client: pg.PoolClient, steps: Array<{ deployment: Pick<DeploymentView, 'id' | 'orgId' | 'siteId'>; step: DeploymentStep }>): Promise<void> {
  await appendAuditEvents(
    client,
    steps.map(({ deployment: d, step }) => ({
      scope: `site:${d.siteId}`,
      actor: step.actor,
      requestId: step.requestId,
      service: 'lifecycle',
      orgId: d.orgId,
      siteId: d.siteId,
      entityType: 'deployment',
      entityId: d.id,
      action: step.action,
      outcome: 'applied' as const,
      before: step.before,
      after: step.after,
      comment: step.comment ?? null,
      sourceIp: step.sourceIp ?? null,
    })),
  );
}

/** What an audit event records of a deployment: its state, not its timestamps. */
export function auditState(d: DeploymentView): object {
  return {
    status: d.status,
    currentBatch: d.currentBatch,
    batches: d.batches,
    batchSize: d.batchSize,
    failureThreshold: d.failureThreshold,
    timeoutMs: d.timeoutMs,
    reason: d.reason,
    targets: d.targets,
  };
}
