import type pg from 'pg';
import jsonPatch from 'fast-json-patch';

const { compare } = jsonPatch;
import { appendAuditEvents, chainEvents, type ChainHead } from '../audit/append.ts';
import type { AuditActor, AuditEventInput } from '../audit/types.ts';
import type { Catalog } from '../core/catalog/catalog.ts';
import { applyOperations, type AppliedChange, type EntityChange } from '../core/changes/apply-operations.ts';
import { impactedAssets } from '../core/changes/impact.ts';
import type { Operation } from '../core/changes/operations.ts';
import { indexAfter } from '../core/graph/graph-index.ts';
import type { AssetPlacement, Site, SiteGraph } from '../core/graph/types.ts';
import { siteView } from '../core/changes/views.ts';
import { hasErrors, runRules } from '../core/rules/run-rules.ts';
import type { Rule, Violation } from '../core/rules/types.ts';
import { rules as builtinRules } from '../core/rules/registry.ts';
import { CommitOutcomeUnknown, committedAfterLoss, isUniqueViolation, requireTransaction, runAlone, sqlState, withTransaction } from '../db/tx.ts';
import { markClaimCommitted, type IdempotencyClaim } from '../http/idempotency.ts';
import { enqueueOutbox } from '../events/outbox.ts';
import { ApiError, type FieldError } from '../http/errors.ts';
import { constraintViolation } from '../http/db-errors.ts';
import { etagOf } from '../http/etag.ts';
import { ConfigSchemaCheck } from './config-schema-check.ts';
import { lockSite, lockSiteForWrite, SiteGraphCache, siteCacheSizeFromEnv, type SiteOf } from './site-store.ts';
import { SiteTurns } from './site-turns.ts';
import { changeStatements, persistChange, type ChangeRecord } from './persist-change.ts';
import { loadDeployedPlacements, lookupSerials, readsPlacements, serialsToLookUp } from './validation-reads.ts';
import { describeRefusal, lastConfigOp, operationProblem } from './write-problems.ts';
import { newId } from '../core/ids.ts';

/** Who asks for a change, and from where. */
export interface WriteContext {
  actor: AuditActor;
  requestId: string;
  sourceIp?: string | null;
  /** The request's `Idempotency-Key` claim: marked committed in the change's own transaction. */
  idempotency?: IdempotencyClaim;
}

export interface ChangeRequest {
  /** The site to change, or the existing asset or cable whose site it is (see {@link SiteOf}). */
  siteId: SiteOf;
  operations: Operation[];
  dryRun?: boolean;
  comment?: string | null;
  /**
   * Maps a JSON Pointer inside operation `index` (e.g. `/asset/config/unitId`) to the JSON Pointer
   * of that field in the request body. Defaults to the change-set body, `/operations/<index>/…`;
   * single-resource routes pass {@link singleOperationPointer}.
   */
  pointer?: FieldPointer;
  /**
   * The route's authorisation on the site, called before anything else on the site as the write
   * finds it — the copy the instance holds, or the row the lock reads (which carries the
   * organisation, so it costs no round trip); a refusal on the copy is given again under the
   * lock. Throws to refuse: 404 exactly like a missing site, or 403.
   */
  authorize?: SiteCheck;
}

/** Refuses (throws) unless the caller may make this change on `site`. */
export type SiteCheck = (site: Site) => void;

export interface PlannedChange extends EntityChange {
  diff: ReturnType<typeof compare>;
}

export interface ChangeOutcome {
  changesetId: string;
  dryRun: boolean;
  /** The site revision after the change (unchanged for a dry run or a no-op). */
  siteRevision: number;
  changes: PlannedChange[];
  impacted: string[];
  /** Warnings (and, for a refused dry run, errors). */
  violations: Violation[];
  /** The graph after the change (for responses that return the changed entity). */
  graph: SiteGraph;
}

export interface WritePathDeps {
  pool: pg.Pool;
  catalog: Catalog;
  rules?: readonly Rule[];
  cache?: SiteGraphCache;
}

/** Maps a JSON Pointer inside operation `index` to the pointer of that field in the request body. */
export type FieldPointer = (index: number, inOperation: string) => string;

/**
 * The pointer map of a route whose body is the payload of its one operation (POST /v1/assets is
 * `asset`, PATCH is `patch`, PUT …/config is `config`): `/asset/config/unitId` → `/config/unitId`.
 */
export const singleOperationPointer: FieldPointer = (_index, inOperation) => inOperation.replace(/^\/(asset|patch|config|connection)(?=\/|$)/, '');

class SiteRefused extends Error {
  constructor(
    readonly site: Site,
    readonly violations: Violation[],
    message: string,
  ) {
    super(message);
  }
}

class Refused extends Error {
  constructor(
    readonly siteId: string,
    readonly violations: Violation[],
    readonly siteRevision: number,
    readonly orgId: string,
  ) {
    super('refused');
  }
}

/** A change applied to a site's graph and validated: everything of a write that reads no rows. */
interface Plan {
  applied: AppliedChange;
  violations: Violation[];
  changes: PlannedChange[];
  impacted: string[];
}

/** What a write's transaction got to: its graph once committed, its site, and — once COMMIT is sent — the answer a committed change gives. */
interface WriteProgress {
  graph?: SiteGraph;
  change?: { from: SiteGraph; touched: AppliedChange['touched'] };
  head?: ChainHead;
  siteId?: string;
  committing?: ChangeOutcome;
}

/**
 * The one path every configuration write takes: lock the site, check expected versions,
 * apply the operations to a candidate, validate it on the touched scope, then either refuse
 * (409, audited), answer a dry run, or persist rows, versions, audit events and outbox events
 * in the same transaction.
 *
 * A write to a site this instance holds a copy of (its graph and the head of its audit chain, as
 * its last write here left them) is first planned on that copy, and its one statement sent alone:
 * the statement moves the site's revision under the row lock it takes and fails unless the
 * revision was the copy's (and the chain's next sequence number is free), so a stale copy keeps
 * nothing — the write then takes the lock and starts again. One round trip instead of two, and
 * the site is locked only while the statement runs. Whatever that plan would not write as it is —
 * a refusal, a no-op, an error, a dry run — is answered under the lock, from the current state.
 * This instance's writes to one site take turns ({@link SiteTurns}), so that they do not make
 * each other's copies stale.
 */
export function createWritePath(deps: WritePathDeps) {
  const rules = deps.rules ?? builtinRules;
  const cache = deps.cache ?? new SiteGraphCache(siteCacheSizeFromEnv());
  const schemaCheck = new ConfigSchemaCheck(deps.catalog);
  const turns = new SiteTurns();

  async function execute(req: ChangeRequest, ctx: WriteContext): Promise<ChangeOutcome> {
    // Only a write that may be planned on the copy held waits for its turn: a dry run, a write to
    // a site not held (or whose copy was found stale) and one that reads rows take the lock anyway.
    const held = req.dryRun || readsPlacements(req.operations) ? undefined : cache.current(req.siteId);
    if (!held) return executeInTurn(req, ctx);
    const endTurn = await turns.take(held.graph.site.id);
    try {
      return await executeInTurn(req, ctx);
    } finally {
      endTurn();
    }
  }

  /** {@link execute}, once the write's turn on its site has come (see {@link SiteTurns}). */
  async function executeInTurn(req: ChangeRequest, ctx: WriteContext): Promise<ChangeOutcome> {
    const changesetId = newId();
    const pointer = req.pointer ?? ((i: number, inOperation: string) => `/operations/${i}${inOperation}`);
    const done: WriteProgress = {};
    let outcome: ChangeOutcome;
    try {
      outcome = (await writeFromCopy(req, ctx, changesetId, pointer, done)) ?? (await writeLocked(req, ctx, changesetId, pointer, done));
    } catch (err) {
      if (err instanceof Refused) {
        await recordRefusal(changesetId, req, ctx, err);
        throw new ApiError('CONFLICT_RULES', describeRefusal(err.violations), { extra: { violations: err.violations, changesetId } });
      }
      if (done.siteId === undefined) throw err;
      const siteId = done.siteId;
      cache.delete(siteId);
      if (err instanceof CommitOutcomeUnknown && done.committing) {
        // COMMIT went out and its answer was lost: the change may be in. Answer what happened, not a guess.
        const committed =
          err.pid === undefined
            ? undefined
            : await committedAfterLoss(deps.pool, err.pid, async () => (await deps.pool.query('SELECT 1 FROM config.changesets WHERE id = $1', [changesetId])).rowCount === 1);
        if (committed) return done.committing;
        if (committed === undefined) {
          // Keep the request's Idempotency-Key claimed: if the change committed, it marked it.
          if (ctx.idempotency) ctx.idempotency.outcomeUnknown = true;
          throw new ApiError(
            'SERVICE_UNAVAILABLE',
            `The connection to the database was lost while change set ${changesetId} was committing, and whether it was applied cannot be told yet. A retry with the same Idempotency-Key applies it at most once; without one, GET /v1/changesets/${changesetId} shows whether it was applied.`,
            { extra: { changesetId }, headers: { 'Retry-After': '5' }, cause: err },
          );
        }
      }
      const facts = constraintViolation(err);
      if (facts) {
        // A race the rules could not see (e.g. one serial claimed in two sites at once): the
        // database refused it. Record the refusal like any other; the error handler answers 409.
        const violation: Violation = {
          rule: 'database-constraint',
          code: 'CONSTRAINT_VIOLATED',
          message: `The database refused the change (${facts.constraint ?? facts.sqlState}${facts.detail ? `: ${facts.detail}` : ''}).`,
          assetIds: [],
          severity: 'error',
        };
        const site = await deps.pool.query<{ org_id: string; revision: number }>(`SELECT org_id, revision FROM config.sites WHERE id = $1`, [siteId]);
        if (site.rows[0]) await recordRefusal(changesetId, req, ctx, new Refused(siteId, [violation], Number(site.rows[0].revision), site.rows[0].org_id));
      }
      throw err;
    }
    // Only a committed graph may be cached: set once the transaction has resolved.
    if (done.graph) cache.set(done.graph, done.change, done.head);
    return outcome;
  }

  /**
   * The write planned on the copy held of its site, in one statement of its own (see
   * {@link createWritePath}); undefined when it is not written that way — no copy held, a dry
   * run, a plan that reads rows or is not one statement, anything but a change to write — or when
   * the copy turned out stale: the caller then writes under the lock.
   */
  async function writeFromCopy(req: ChangeRequest, ctx: WriteContext, changesetId: string, pointer: FieldPointer, done: WriteProgress): Promise<ChangeOutcome | undefined> {
    const held = req.dryRun ? undefined : cache.current(req.siteId);
    if (!held || readsPlacements(req.operations)) return undefined;
    const { graph: before, head } = held;
    const site = before.site;
    let plan: Plan;
    try {
      req.authorize?.(site);
      const applied = applyChange(before, req, new Map(), pointer);
      if (serialsToLookUp(applied, before).size > 0) return undefined;
      plan = validate(applied, before, new Map());
    } catch {
      return undefined; // refused, stale or wrong: answered under the lock, from the current state
    }
    if (hasErrors(plan.violations) || plan.changes.length === 0) return undefined;
    const { record, outcome, head: after } = commitRecord(site, head, plan, changesetId, req, ctx);
    const statements = changeStatements(plan.applied, record);
    if (statements.rows.length > 0) return undefined;
    done.committing = outcome;
    try {
      await runAlone(deps.pool, statements.last);
    } catch (err) {
      if (err instanceof CommitOutcomeUnknown) {
        done.siteId = site.id; // the answer was lost: execute() finds out whether it committed
        throw err;
      }
      done.committing = undefined;
      // Not sent (no connection): the copy is as good as it was.
      if (sqlState(err) === undefined) throw err;
      // The database refused the statement, and nothing of it is kept: the copy was stale (the
      // revision or the audit chain moved on), or the change meets a constraint, or the
      // statement failed otherwise. The lock decides. A copy moved on by a write of this instance
      // (the copy held is newer) is a race of two requests; otherwise someone else writes the site.
      if (staleCopy(err) && cache.find(site.id) === before) cache.markStale(site.id);
      return undefined;
    }
    Object.assign(done, { graph: plan.applied.candidate, change: { from: before, touched: plan.applied.touched }, head: after });
    return outcome;
  }

  /** The write under its site's lock: the current graph and audit head, read (or confirmed) with the lock. */
  function writeLocked(req: ChangeRequest, ctx: WriteContext, changesetId: string, pointer: FieldPointer, done: WriteProgress): Promise<ChangeOutcome> {
    return withTransaction(deps.pool, async (client, tx) => {
      done.graph = undefined; // a retried attempt must not cache what an aborted one built
      done.committing = undefined;
      // The lock went out with BEGIN (pipelineBegin, below): from here on, statements must be inside it.
      const locked = await lockSiteForWrite(client, req.siteId, cache);
      requireTransaction(client, 'write path');
      if (!locked) throw new ApiError('NOT_FOUND', `${describe(req.siteId)} does not exist.`);
      const { site, auditHead, graph: before } = locked;
      done.siteId = site.id;
      req.authorize?.(site);
      const versions = await loadDeployedPlacements(client, req.operations);
      const applied = applyChange(before, req, versions, pointer);
      const serialOwners = await lookupSerials(client, applied, before, site.id);
      const plan = validate(applied, before, serialOwners);
      const { changes, impacted, violations } = plan;

      if (req.dryRun) {
        cache.set(before, undefined, auditHead);
        return { changesetId, dryRun: true, siteRevision: site.revision, changes, impacted, violations, graph: applied.candidate };
      }
      if (hasErrors(violations)) throw new Refused(site.id, violations, site.revision, site.orgId);
      if (changes.length === 0) {
        cache.set(before, undefined, auditHead);
        return { changesetId, dryRun: false, siteRevision: site.revision, changes, impacted, violations, graph: before };
      }

      // The site row is locked: the revision this change produces is the next one.
      const { record, outcome, head } = commitRecord(site, auditHead, plan, changesetId, req, ctx);
      // The change's last statement carries COMMIT with it.
      await persistChange(client, applied, record, (query) => {
        done.committing = outcome;
        return tx.commitWith(query);
      });
      Object.assign(done, { graph: applied.candidate, change: { from: before, touched: applied.touched }, head });
      return outcome;
    }, { pipelineBegin: true });
  }

  /** Applies the operations to `before` and checks the configurations against their models' schemas. */
  function applyChange(before: SiteGraph, req: ChangeRequest, versions: Map<string, AssetPlacement>, pointer: FieldPointer): AppliedChange {
    let applied: AppliedChange;
    try {
      applied = applyOperations(before, req.operations, { catalog: deps.catalog, versions });
    } catch (err) {
      throw operationProblem(err, pointer);
    }
    checkConfigSchemas(applied, req.operations, pointer);
    return applied;
  }

  /** Runs the rules on an applied change, and lists its changes with their diffs and the assets it affects. */
  function validate(applied: AppliedChange, before: SiteGraph, serialOwners: Map<string, string | null>): Plan {
    const index = indexAfter(applied.candidate, before, applied.touched.assets);
    const violations = runRules(
      { candidate: applied.candidate, index, before, touched: applied.touched, removed: applied.removed, catalog: deps.catalog, fleet: { serialOwners } },
      rules,
    );
    const changes = applied.changes.map((c) => ({ ...c, diff: compare(c.before ?? {}, c.after ?? {}) }));
    const impacted = impactedAssets(applied.touched.assets, before, applied.candidate, index);
    return { applied, violations, changes, impacted };
  }

  /**
   * What a planned change records when it is written onto `site` (as held or as locked) and the
   * audit chain head `auditHead`: the next revision, its events chained onto that head, its
   * outbox events, the answer, and the chain's head after it.
   */
  function commitRecord(site: Site, auditHead: ChainHead, plan: Plan, changesetId: string, req: ChangeRequest, ctx: WriteContext) {
    const { applied, changes, impacted, violations } = plan;
    const revision = site.revision + 1;
    applied.candidate.site.revision = revision;
    // The site's view carries its revision: record the site as it now reads, not as it read before the bump.
    for (const c of changes) {
      if (c.entityType !== 'site' || c.after === null) continue;
      c.after = siteView(applied.candidate.site);
      c.diff = compare(c.before ?? {}, c.after);
    }
    const scope = `site:${site.id}`;
    const audit = chainEvents(
      changes.map((c) => auditEvent(c, site.orgId, site.id, revision, changesetId, req, ctx)),
      new Map([[scope, auditHead]]),
    );
    const last = audit.stored[audit.stored.length - 1];
    const record: ChangeRecord = {
      changesetId,
      revision,
      changeset: { actor: ctx.actor, requestId: ctx.requestId, comment: req.comment ?? null, operations: req.operations },
      audit,
      idempotency: ctx.idempotency,
      outbox: changes.map((c) => ({
        topic: `config.${c.entityType}.${c.action}d`,
        key: c.entityId,
        payload: { siteId: site.id, orgId: site.orgId, changesetId, siteRevision: revision, entityId: c.entityId, before: c.before, after: c.after, requestId: ctx.requestId, actor: ctx.actor },
      })),
    };
    const outcome: ChangeOutcome = { changesetId, dryRun: false, siteRevision: revision, changes, impacted, violations, graph: applied.candidate };
    return { record, outcome, head: { seq: last.seq, hash: last.hash } satisfies ChainHead };
  }

  function checkConfigSchemas(applied: AppliedChange, ops: Operation[], pointer: FieldPointer) {
    const errors: FieldError[] = [];
    for (const id of applied.touched.assets) {
      const asset = applied.candidate.assets.get(id);
      if (!asset) continue;
      const problems = schemaCheck.check(asset);
      if (problems.length === 0) continue;
      const at = lastConfigOp(ops, id);
      for (const p of problems) {
        errors.push({ in: 'body', path: at.index >= 0 ? pointer(at.index, `${at.field}${p.path}`) : p.path, message: `${asset.name}: ${p.message}` });
      }
    }
    if (errors.length) {
      throw new ApiError('VALIDATION_FAILED', `${errors.length} configuration field(s) do not match the device model's schema.`, { extra: { errors } });
    }
  }

  async function recordRefusal(changesetId: string, req: ChangeRequest, ctx: WriteContext, refusal: Refused) {
    cache.forgetHead(refusal.siteId); // the refusal goes into the site's chain: a head held is no longer its head
    await withTransaction(deps.pool, async (client) => {
      await recordChangeset(client, changesetId, refusal.siteId, req, ctx, refusal.siteRevision, 'refused', refusal.violations);
      await appendAuditEvents(client, [
        {
          scope: `site:${refusal.siteId}`,
          actor: ctx.actor,
          requestId: ctx.requestId,
          changesetId,
          service: 'config',
          orgId: refusal.orgId,
          siteId: refusal.siteId,
          siteRevision: refusal.siteRevision,
          entityType: 'changeset',
          entityId: changesetId,
          action: 'apply',
          outcome: 'refused',
          before: null,
          after: { operations: req.operations },
          comment: req.comment ?? null,
          sourceIp: ctx.sourceIp ?? null,
          violations: refusal.violations,
        },
      ]);
    });
  }

  /** Creates a site: there is no row to lock yet, so the unique (org, code) index decides races. */
  async function createSite(site: Omit<Site, 'revision' | 'version'>, ctx: WriteContext): Promise<Site> {
    const created: Site = { ...site, revision: 1, version: 1 };
    try {
      await withTransaction(deps.pool, async (client) => {
        await client.query(
          `INSERT INTO config.sites (id, org_id, code, name, timezone, network, revision, version) VALUES ($1, $2, $3, $4, $5, $6, 1, 1)`,
          [site.id, site.orgId, site.code, site.name, site.timezone, JSON.stringify(site.network)],
        );
        await appendAuditEvents(client, [siteEvent(created, 'create', null, siteView(created), ctx)]);
        await enqueueOutbox(client, 'config', [{ topic: 'config.site.created', key: site.id, payload: siteView(created) }]);
        await markClaimCommitted(client, ctx.idempotency, `/v1/sites/${site.id}`);
      });
    } catch (err) {
      const facts = constraintViolation(err);
      if (facts) {
        const message = `The database refused the site (${facts.constraint ?? facts.sqlState}${facts.detail ? `: ${facts.detail}` : ''}).`;
        await recordSiteRefusal(created, 'create', ctx, [{ rule: 'database-constraint', code: 'CONSTRAINT_VIOLATED', message, assetIds: [], severity: 'error' }], `org:${site.orgId}`);
      }
      throw err;
    }
    return created;
  }

  /** Records a refused site creation or deletion, in a transaction of its own. */
  async function recordSiteRefusal(site: Site, action: 'create' | 'delete', ctx: WriteContext, violations: Violation[], scope: string) {
    await withTransaction(deps.pool, async (client) => {
      const [before, after] = action === 'create' ? [null, siteView(site)] : [siteView(site), null];
      await appendAuditEvents(client, [{ ...siteEvent(site, action, before, after, ctx), scope, outcome: 'refused', violations }]);
    });
  }

  /** Deletes an empty site under its lock (after `authorize`, as in {@link ChangeRequest}); a site with assets or cables is refused. */
  async function deleteSite(siteId: string, expectedVersion: number, ctx: WriteContext, authorize?: SiteCheck): Promise<void> {
    await withTransaction(deps.pool, async (client) => {
      const site = await lockSite(client, siteId);
      if (!site) throw new ApiError('NOT_FOUND', `Site ${siteId} does not exist.`);
      authorize?.(site);
      if (site.version !== expectedVersion) {
        const etag = etagOf('site', site.id, site.version);
        throw new ApiError('PRECONDITION_FAILED', `Site ${site.code} is at version ${site.version}, not ${expectedVersion}.`, { extra: { currentEtag: etag }, headers: { ETag: etag } });
      }
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM config.assets WHERE site_id = $1`, [siteId]);
      if (rows[0].n > 0) {
        const violations: Violation[] = [{ rule: 'site-empty-before-delete', code: 'SITE_NOT_EMPTY', message: `Site ${site.code} still has ${rows[0].n} asset(s).`, assetIds: [], severity: 'error' }];
        throw new SiteRefused(site, violations, `Site ${site.code} still has ${rows[0].n} asset(s); delete them first (one change set can delete them all).`);
      }
      await client.query(`DELETE FROM config.sites WHERE id = $1`, [siteId]);
      await appendAuditEvents(client, [siteEvent(site, 'delete', siteView(site), null, ctx)]);
      await enqueueOutbox(client, 'config', [{ topic: 'config.site.deleted', key: site.id, payload: siteView(site) }]);
    }).catch(async (err: unknown) => {
      if (!(err instanceof SiteRefused)) throw err;
      await recordSiteRefusal(err.site, 'delete', ctx, err.violations, `site:${siteId}`);
      throw new ApiError('CONFLICT_RULES', err.message, { extra: { violations: err.violations } });
    });
    cache.delete(siteId);
  }

  return { execute, createSite, deleteSite, cache };
}

function siteEvent(site: Site, action: 'create' | 'delete', before: object | null, after: object | null, ctx: WriteContext): AuditEventInput {
  return {
    scope: `site:${site.id}`,
    actor: ctx.actor,
    requestId: ctx.requestId,
    service: 'config',
    orgId: site.orgId,
    siteId: site.id,
    siteRevision: site.revision,
    entityType: 'site',
    entityId: site.id,
    action,
    outcome: 'applied',
    before,
    after,
    sourceIp: ctx.sourceIp ?? null,
  };
}

export type WritePath = ReturnType<typeof createWritePath>;

function auditEvent(c: PlannedChange, orgId: string, siteId: string, revision: number, changesetId: string, req: ChangeRequest, ctx: WriteContext): AuditEventInput {
  return {
    scope: `site:${siteId}`,
    actor: ctx.actor,
    requestId: ctx.requestId,
    changesetId,
    service: 'config',
    orgId,
    siteId,
    siteRevision: revision,
    entityType: c.entityType,
    entityId: c.entityId,
    action: c.action,
    outcome: 'applied',
    before: c.before,
    after: c.after,
    comment: req.comment ?? null,
    sourceIp: ctx.sourceIp ?? null,
  };
}

async function recordChangeset(
  client: pg.PoolClient,
  id: string,
  siteId: string,
  req: ChangeRequest,
  ctx: WriteContext,
  revision: number,
  outcome: 'applied' | 'refused',
  violations: Violation[] | null,
) {
  await client.query(
    `INSERT INTO config.changesets (id, site_id, site_revision, actor, request_id, comment, operations, outcome, violations)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, siteId, revision, JSON.stringify(ctx.actor), ctx.requestId, req.comment ?? null, JSON.stringify(req.operations), outcome, violations && JSON.stringify(violations)],
  );
}

/**
 * Whether a write statement sent alone failed because the copy it was planned on was stale: the
 * site's revision moved on (`config.expect_revision`) or the audit chain did (the event's
 * sequence number taken).
 */
const staleCopy = (err: unknown) =>
  (sqlState(err) === 'P0001' && err instanceof Error && err.message.startsWith('site revision is ')) ||
  (isUniqueViolation(err) && err.constraint === 'events_scope_seq_key');

const describe = (of: SiteOf) => (typeof of === 'string' ? `Site ${of}` : 'asset' in of ? `Asset ${of.asset}` : `Connection ${of.connection}`);
