/**
 * The oracle of the chaos runs: after the load, hold the stored state, the audit log and the
 * database to every answer the clients got.
 *
 * - the stored state of every site passes every rule;
 * - every acknowledged (2xx) write is in the audit log — each entity it answered with is the
 *   `after` of an applied event, its request's events are all there — and in the state: the
 *   entity is stored at that version or later, unless a later event deleted it;
 * - a refused (4xx) write left no applied event; a rules refusal (409) left exactly one refused one;
 * - replaying the audit log gives exactly the stored assets, cables and site;
 * - every hash chain verifies (through the API and directly);
 * - in the database: no applied change set without its events and outbox rows, no event without
 *   its change set, one change set per site revision with no gap, every asset's configuration
 *   versions complete and the latest equal to the asset.
 */
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { verifyAuditChains } from '../../src/audit/verify.ts';
import type { AuditEvent } from '../../src/audit/types.ts';
import type { AssetViewData, ConnectionViewData, SiteViewData } from '../../src/core/changes/views.ts';
import type { Violation } from '../../src/core/rules/types.ts';
import { is2xx, isWrite, Recorder, type Exchange } from './recorder.ts';

export interface Graph {
  site: SiteViewData;
  assets: AssetViewData[];
  connections: ConnectionViewData[];
}

/** Writes of the configuration service: what this oracle judges. */
const CONFIG_PATH = /^\/v1\/(sites|assets|connections)(\/|\?|$)/;

type Entity = { id: string; version?: number } & Record<string, unknown>;

export interface OracleFigures {
  sites: number;
  acknowledgedWrites: number;
  /** Entities answered by 2xx writes and found as an applied event's `after`. */
  acknowledgedEntities: number;
  refusedWrites: number;
  /** Requests sent with no answer (killed instance, outage): applied or not, as the log says. */
  lostApplied: number;
  lostNotApplied: number;
  events: number;
  appliedChangesets: number;
  refusedChangesets: number;
  assets: number;
  connections: number;
}

export interface OracleResult {
  problems: string[];
  figures: OracleFigures;
}

/** Reads with full rights from the first instance that answers. */
export interface Reader {
  get<T>(path: string): Promise<T>;
  post<T>(path: string): Promise<T>;
}

export function reader(instances: () => Array<{ name: string; url: string }>, token: string): Reader {
  const rec = new Recorder(`oracle-${Date.now()}`, token, false);
  async function call<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    let last = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const base of instances()) {
        const ex = await rec.send<T>(base, 0, method, path, { timeoutMs: 60_000 });
        if (ex.outcome === 200) return ex.response as T;
        last = `${method} ${path} on ${base.name}: ${ex.outcome} ${ex.text?.slice(0, 300) ?? ex.error}`;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(last);
  }
  return { get: (p) => call('GET', p), post: (p) => call('POST', p) };
}

/** Every audit event of a site through the API, all pages, in chain order. */
export async function auditLog(api: Reader, siteId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: AuditEvent[]; nextCursor: string | null } = await api.get(`/v1/audit?siteId=${siteId}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return events.sort((a, b) => a.seq - b.seq);
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

/** The assets, cables and site a site's audit log says it holds: each applied event's `after` replaces the entity, a delete removes it. */
export function replay(events: readonly AuditEvent[]) {
  const state = { asset: new Map<string, object>(), connection: new Map<string, object>(), site: new Map<string, object>() };
  for (const e of events) {
    if (e.outcome !== 'applied' || !(e.entityType in state)) continue;
    const table = state[e.entityType as keyof typeof state];
    if (e.action === 'delete' || e.after === null) table.delete(e.entityId);
    else table.set(e.entityId, e.after);
  }
  return {
    assets: [...state.asset.values()].sort(byId as never),
    connections: [...state.connection.values()].sort(byId as never),
    site: [...state.site.values()][0] as SiteViewData | undefined,
  };
}

/** Entities a 2xx write answered with, and the ids it deleted. */
function acknowledged(ex: Exchange): { views: Entity[]; deleted: string[]; changesetId?: string; changes?: number } {
  const body = ex.response as Record<string, unknown> | undefined;
  if (ex.method === 'DELETE') return { views: [], deleted: [ex.path.split('?')[0].split('/').pop() as string] };
  if (body && Array.isArray(body.changes)) {
    const changes = body.changes as Array<{ entityId: string; after: Entity | null }>;
    return {
      views: changes.flatMap((c) => (c.after ? [c.after] : [])),
      deleted: changes.flatMap((c) => (c.after ? [] : [c.entityId])),
      changesetId: body.changesetId as string,
      changes: changes.length,
    };
  }
  return { views: body && typeof body.id === 'string' ? [body as Entity] : [], deleted: [] };
}

const withoutRevision = (s: object | undefined) => {
  if (!s) return s;
  const { revision: _revision, ...rest } = s as SiteViewData;
  return rest;
};

/**
 * Checks everything above for `siteIds` against the clients' `log`. Problems are returned as
 * sentences (the first few hundred), with the figures of what was checked.
 */
export async function checkNothingLost(api: Reader, pool: pg.Pool, siteIds: readonly string[], log: readonly Exchange[]): Promise<OracleResult> {
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < 300) problems.push(p);
  };
  const figures: OracleFigures = {
    sites: siteIds.length,
    acknowledgedWrites: 0,
    acknowledgedEntities: 0,
    refusedWrites: 0,
    lostApplied: 0,
    lostNotApplied: 0,
    events: 0,
    appliedChangesets: 0,
    refusedChangesets: 0,
    assets: 0,
    connections: 0,
  };

  // ------------------------------------------------------------ state and audit log, per site
  const events: AuditEvent[] = [];
  const stored = new Map<string, Entity>();
  const siteOf = new Map<string, Graph>();
  for (const siteId of siteIds) {
    const graph = await api.get<Graph>(`/v1/sites/${siteId}/graph`);
    siteOf.set(siteId, graph);
    figures.assets += graph.assets.length;
    figures.connections += graph.connections.length;
    for (const e of [...graph.assets, ...graph.connections]) stored.set(e.id, e as unknown as Entity);
    stored.set(graph.site.id, graph.site as unknown as Entity);

    const validation = await api.post<{ valid: boolean; violations: Violation[] }>(`/v1/sites/${siteId}/validate`);
    for (const v of validation.violations.filter((x) => x.severity === 'error')) problem(`site ${graph.site.code} breaks ${v.rule}/${v.code}: ${v.message}`);

    const log = await auditLog(api, siteId);
    events.push(...log);
    const replayed = replay(log);
    const assets = [...graph.assets].sort(byId);
    const connections = [...graph.connections].sort(byId);
    if (!isDeepStrictEqual(replayed.assets, assets)) problem(`site ${graph.site.code}: replaying the audit log does not give the stored assets (${diffIds(replayed.assets as Entity[], assets as unknown as Entity[])})`);
    if (!isDeepStrictEqual(replayed.connections, connections)) {
      problem(`site ${graph.site.code}: replaying the audit log does not give the stored cables (${diffIds(replayed.connections as Entity[], connections as unknown as Entity[])})`);
    }
    if (!isDeepStrictEqual(withoutRevision(replayed.site), withoutRevision(graph.site))) problem(`site ${graph.site.code}: the last site event is not the stored site`);
  }
  figures.events = events.length;

  const byRequest = new Map<string, AuditEvent[]>();
  const byEntity = new Map<string, AuditEvent[]>();
  for (const e of events) {
    if (e.requestId) byRequest.set(e.requestId, [...(byRequest.get(e.requestId) ?? []), e]);
    if (e.outcome === 'applied') byEntity.set(e.entityId, [...(byEntity.get(e.entityId) ?? []), e]);
  }

  // ------------------------------------------------------------ every answer against the log and the state
  for (const ex of log) {
    if (!isWrite(ex) || !CONFIG_PATH.test(ex.path)) continue;
    const mine = byRequest.get(ex.requestId) ?? [];
    const applied = mine.filter((e) => e.outcome === 'applied');
    const what = `${ex.method} ${ex.path} (${ex.requestId}, ${String(ex.outcome)})`;
    if (is2xx(ex)) {
      figures.acknowledgedWrites++;
      const ack = acknowledged(ex);
      for (const view of ack.views) {
        const history = byEntity.get(view.id) ?? [];
        // A site's view carries the revision of the last write to the site, which a no-op PATCH answers with but no site event holds.
        const same = (e: AuditEvent) => ('revision' in view ? isDeepStrictEqual(withoutRevision(e.after ?? undefined), withoutRevision(view)) : isDeepStrictEqual(e.after, view));
        const match = history.find((e) => e.requestId === ex.requestId && same(e)) ?? history.find(same);
        if (!match) {
          problem(`${what}: answered ${view.id} v${view.version}, but no applied audit event has it as after`);
          continue;
        }
        if (match.requestId !== ex.requestId && applied.some((e) => e.entityId === view.id)) problem(`${what}: its event for ${view.id} is not the one it answered`);
        figures.acknowledgedEntities++;
        const latest = history[history.length - 1];
        const now = stored.get(view.id);
        if (latest.action === 'delete') {
          if (now) problem(`${what}: ${view.id} was deleted (event #${latest.seq}) but is still stored`);
        } else if (!now) {
          problem(`${what}: ${view.id} is not stored and no later event deleted it`);
        } else if (typeof view.version === 'number' && typeof now.version === 'number' && now.version < view.version) {
          problem(`${what}: answered ${view.id} v${view.version}, stored is v${now.version}`);
        }
      }
      for (const id of ack.deleted) {
        if (!applied.some((e) => e.entityId === id && e.action === 'delete')) problem(`${what}: acknowledged the delete of ${id}, but no delete event of this request`);
        const history = byEntity.get(id) ?? [];
        const latest = history[history.length - 1];
        if (stored.has(id) && latest?.action === 'delete') problem(`${what}: ${id} is deleted in the log but stored`);
      }
      if (ack.changesetId) {
        const ofChangeset = events.filter((e) => e.changesetId === ack.changesetId && e.outcome === 'applied');
        if (ofChangeset.length !== ack.changes) problem(`${what}: change set ${ack.changesetId} answered ${ack.changes} changes, the log holds ${ofChangeset.length}`);
      }
    } else if (typeof ex.outcome === 'number' && ex.outcome >= 400 && ex.outcome < 500) {
      figures.refusedWrites++;
      if (applied.length > 0) problem(`${what}: refused, but the log holds ${applied.length} applied event(s) of it`);
      const code = (ex.response as { code?: string } | undefined)?.code;
      if (code === 'CONFLICT_RULES' || code === 'CONFLICT_CONSTRAINT') {
        const refused = mine.filter((e) => e.outcome === 'refused');
        // A site delete refused for its assets is answered before any change set exists.
        if (refused.length !== 1 && !(ex.method === 'DELETE' && ex.path.startsWith('/v1/sites/'))) problem(`${what}: a ${code} refusal must be audited once, found ${refused.length}`);
      }
    } else if (applied.length > 0) figures.lostApplied++;
    else figures.lostNotApplied++;
  }

  // ------------------------------------------------------------ hash chains
  const verified = await api.get<{ ok: boolean; problems: unknown[] }>('/v1/audit/verify');
  if (!verified.ok) problem(`GET /v1/audit/verify: ${JSON.stringify(verified.problems).slice(0, 500)}`);
  const direct = await verifyAuditChains(pool);
  if (!direct.ok) problem(`verifyAuditChains: ${JSON.stringify(direct.problems).slice(0, 500)}`);

  // ------------------------------------------------------------ the database, cross-checked
  await crossCheck(pool, siteIds, figures, problem);
  return { problems, figures };
}

function diffIds(a: Entity[], b: Entity[]): string {
  const ma = new Map(a.map((x) => [x.id, x]));
  const mb = new Map(b.map((x) => [x.id, x]));
  const out: string[] = [];
  for (const id of ma.keys()) if (!mb.has(id)) out.push(`${id} only in the log`);
  for (const id of mb.keys()) if (!ma.has(id)) out.push(`${id} only stored`);
  for (const [id, x] of ma) if (mb.has(id) && !isDeepStrictEqual(x, mb.get(id))) out.push(`${id} differs: log ${JSON.stringify(x)} stored ${JSON.stringify(mb.get(id))}`);
  return out.slice(0, 5).join('; ');
}

async function crossCheck(pool: pg.Pool, siteIds: readonly string[], figures: OracleFigures, problem: (p: string) => void) {
  const sites = [...siteIds];
  const q = async <T extends pg.QueryResultRow>(sql: string) => (await pool.query<T>(sql, [sites])).rows;

  const changesets = await q<{ outcome: string; n: number }>(`SELECT outcome, count(*)::int AS n FROM config.changesets WHERE site_id = ANY($1::uuid[]) GROUP BY outcome`);
  figures.appliedChangesets = changesets.find((r) => r.outcome === 'applied')?.n ?? 0;
  figures.refusedChangesets = changesets.find((r) => r.outcome === 'refused')?.n ?? 0;

  // Applied events of a change set ↔ its applied row, at one site revision.
  for (const r of await q<{ changeset_id: string; events: number; revisions: number; cs_outcome: string | null; cs_revision: number | null; ev_revision: number }>(`
      SELECT e.changeset_id, count(*)::int AS events, count(DISTINCT e.site_revision)::int AS revisions, min(e.site_revision) AS ev_revision,
             c.outcome AS cs_outcome, c.site_revision AS cs_revision
        FROM audit.events e LEFT JOIN config.changesets c ON c.id = e.changeset_id
       WHERE e.site_id = ANY($1::uuid[]) AND e.service = 'config' AND e.outcome = 'applied' AND e.changeset_id IS NOT NULL
       GROUP BY e.changeset_id, c.outcome, c.site_revision`)) {
    if (r.cs_outcome !== 'applied') problem(`audit events of change set ${r.changeset_id} without an applied change set row (${r.cs_outcome})`);
    if (r.revisions !== 1 || Number(r.cs_revision) !== Number(r.ev_revision)) problem(`change set ${r.changeset_id}: events at ${r.revisions} revisions, row at ${r.cs_revision}`);
  }
  for (const r of await q<{ id: string }>(`
      SELECT c.id FROM config.changesets c
       WHERE c.site_id = ANY($1::uuid[]) AND c.outcome = 'applied'
         AND NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.changeset_id = c.id AND e.outcome = 'applied')`)) {
    problem(`applied change set ${r.id} has no audit event`);
  }
  // Refusals: one refused event per refused row and the other way round.
  for (const r of await q<{ id: string; events: number }>(`
      SELECT c.id, (SELECT count(*)::int FROM audit.events e WHERE e.changeset_id = c.id AND e.outcome = 'refused') AS events
        FROM config.changesets c WHERE c.site_id = ANY($1::uuid[]) AND c.outcome = 'refused'`)) {
    if (r.events !== 1) problem(`refused change set ${r.id} has ${r.events} refused audit events`);
  }
  for (const r of await q<{ changeset_id: string }>(`
      SELECT e.changeset_id FROM audit.events e
       WHERE e.site_id = ANY($1::uuid[]) AND e.outcome = 'refused' AND e.service = 'config'
         AND NOT EXISTS (SELECT 1 FROM config.changesets c WHERE c.id = e.changeset_id AND c.outcome = 'refused')`)) {
    problem(`refused audit event of change set ${r.changeset_id} without its change set row`);
  }
  // One applied change set per revision after the site's creation, no gap, none twice.
  for (const r of await q<{ id: string; code: string; revision: number; changesets: number; distinct_revisions: number; min_rev: number | null; max_rev: number | null }>(`
      SELECT s.id, s.code, s.revision, count(c.id)::int AS changesets, count(DISTINCT c.site_revision)::int AS distinct_revisions,
             min(c.site_revision) AS min_rev, max(c.site_revision) AS max_rev
        FROM config.sites s LEFT JOIN config.changesets c ON c.site_id = s.id AND c.outcome = 'applied'
       WHERE s.id = ANY($1::uuid[]) GROUP BY s.id`)) {
    const expected = Number(r.revision) - 1;
    if (r.changesets !== expected || r.distinct_revisions !== expected || (expected > 0 && (Number(r.min_rev) !== 2 || Number(r.max_rev) !== Number(r.revision)))) {
      problem(`site ${r.code} at revision ${r.revision}: ${r.changesets} applied change sets over ${r.distinct_revisions} revisions ${r.min_rev}..${r.max_rev}`);
    }
  }
  // Every applied config event has its outbox row (what other services learn of the change).
  for (const r of await q<{ changeset_id: string; events: number; outbox: number }>(`
      SELECT e.changeset_id, count(*)::int AS events,
             (SELECT count(*)::int FROM config.outbox o WHERE o.payload->>'changesetId' = e.changeset_id::text) AS outbox
        FROM audit.events e
       WHERE e.site_id = ANY($1::uuid[]) AND e.service = 'config' AND e.outcome = 'applied' AND e.changeset_id IS NOT NULL
       GROUP BY e.changeset_id`)) {
    if (r.events !== r.outbox) problem(`change set ${r.changeset_id}: ${r.events} audit events, ${r.outbox} outbox events`);
  }
  // Configuration versions: 1..config_version, each from an applied change set, the latest equal to the asset.
  for (const r of await q<{ id: string; name: string; config_version: number; versions: number; max_v: number; latest_ok: boolean; orphans: number }>(`
      SELECT a.id, a.name, a.config_version, count(v.version)::int AS versions, max(v.version) AS max_v,
             bool_or(v.version = a.config_version AND v.config = a.config AND v.parent_id IS NOT DISTINCT FROM a.parent_id AND v.port IS NOT DISTINCT FROM a.port) AS latest_ok,
             count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM config.changesets c WHERE c.id = v.changeset_id AND c.outcome = 'applied'))::int AS orphans
        FROM config.assets a LEFT JOIN config.config_versions v ON v.asset_id = a.id
       WHERE a.site_id = ANY($1::uuid[]) GROUP BY a.id`)) {
    if (r.versions !== r.config_version || Number(r.max_v) !== r.config_version || !r.latest_ok || r.orphans > 0) {
      problem(`asset ${r.name} (${r.id}) at config version ${r.config_version}: ${r.versions} versions up to ${r.max_v}, latest matches: ${r.latest_ok}, orphans: ${r.orphans}`);
    }
  }
  // Serial numbers fleet-wide (the unique index must hold whatever raced).
  for (const r of await pool.query<{ serial: string; n: number }>(`SELECT lower(btrim(serial)) AS serial, count(*)::int AS n FROM config.assets WHERE serial IS NOT NULL GROUP BY 1 HAVING count(*) > 1`).then((x) => x.rows)) {
    problem(`serial ${r.serial} is held by ${r.n} assets`);
  }
}
