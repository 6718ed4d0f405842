import jsonPatch from 'fast-json-patch';
import type pg from 'pg';
import { canonicalEventJson, canonicalForm, canonicalJson, hashCanonical } from './hash.ts';
import type { AuditEvent, AuditEventInput, JsonObject } from './types.ts';

export { canonicalJson, hashEvent } from './hash.ts';

const OUTCOMES = new Set(['applied', 'refused', 'denied']);

/**
 * Locks (creating when new) the head row of every scope, in sorted order so two
 * transactions appending to overlapping scopes cannot deadlock. ON CONFLICT DO UPDATE
 * takes the row lock and, under READ COMMITTED, returns the latest committed head even
 * after waiting for another appender — which is what keeps the chain from forking.
 */
const lockHeads = (scopes: string) => `
  INSERT INTO audit.chain_heads AS h (scope, seq, hash)
  ${scopes}
  ON CONFLICT (scope) DO UPDATE SET seq = h.seq
  RETURNING scope, seq, hash`;
const LOCK_HEADS = lockHeads('SELECT s, 0, NULL FROM unnest($1::text[]) AS s ORDER BY s');

/**
 * A WITH item `name AS (…)` that locks the chain head of the one scope `scopeSelect` yields
 * (`SELECT <scope>, 0, NULL FROM …`), as {@link lockChainHeads} does, and returns
 * `scope, seq, hash`: for a statement that locks its own rows and the head at once.
 */
export const lockHeadCte = (name: string, scopeSelect: string) => `${name} AS (${lockHeads(scopeSelect)})`;

/**
 * The part of a statement that writes chained events (`audit_events`) and moves their heads
 * (`audit_heads`), as WITH items. The events travel as a single jsonb array: no
 * bind-parameter limit for bulk imports, and one parse on the server. The write path puts
 * these into the one statement that also writes its rows.
 *
 * @example
 *   `WITH ${auditInsertCtes('$1', '$2')} SELECT id, scope, seq FROM audit_events`
 */
export function auditInsertCtes(eventsParam: string, headsParam: string): string {
  return `audit_events AS (
    INSERT INTO audit.events (scope, seq, at, actor, request_id, changeset_id, service, org_id, site_id,
      site_revision, entity_type, entity_id, action, outcome, before, after, diff, comment, source_ip,
      violations, prev_hash, hash)
    SELECT r.scope, r.seq, r.at, r.actor, r.request_id, r.changeset_id, r.service, r.org_id, r.site_id,
      r.site_revision, r.entity_type, r.entity_id, r.action, r.outcome, r.before, r.after, r.diff, r.comment,
      r.source_ip, r.violations, r.prev_hash, r.hash
    FROM jsonb_to_recordset(${eventsParam}::jsonb) AS r(scope text, seq bigint, at timestamptz, actor jsonb,
      request_id text, changeset_id uuid, service text, org_id uuid, site_id uuid, site_revision bigint,
      entity_type text, entity_id text, action text, outcome text, before jsonb, after jsonb, diff jsonb,
      comment text, source_ip text, violations jsonb, prev_hash text, hash text)
    RETURNING id, scope, seq
  ), audit_heads AS (
    UPDATE audit.chain_heads h SET seq = v.seq, hash = v.hash
    FROM jsonb_to_recordset(${headsParam}::jsonb) AS v(scope text, seq bigint, hash text)
    WHERE h.scope = v.scope
  )`;
}

/** One round trip writes every event and moves every head. */
const INSERT_EVENTS = `WITH ${auditInsertCtes('$1', '$2')}
  SELECT id, scope, seq FROM audit_events`;

/** The last link of a scope's chain, as locked by {@link lockChainHeads}. */
export interface ChainHead {
  seq: number;
  hash: string | null;
}

/**
 * Locks the heads of `scopes` until the caller's transaction ends (see LOCK_HEADS) and returns
 * them. Appends to one scope queue here, across every instance.
 */
export async function lockChainHeads(client: pg.ClientBase, scopes: readonly string[]): Promise<Map<string, ChainHead>> {
  const sorted = [...new Set(scopes)].sort();
  const locked = await client.query<{ scope: string; seq: number | string; hash: string | null }>(LOCK_HEADS, [sorted]);
  return new Map(locked.rows.map((r) => [r.scope, { seq: Number(r.seq), hash: r.hash }]));
}

/** Events chained onto locked heads: as they will be stored, and the two jsonb parameters that store them. */
export interface ChainedEvents {
  stored: Omit<AuditEvent, 'id'>[];
  /** Parameter of `audit_events` in {@link auditInsertCtes}. */
  rowsJson: string;
  /** Parameter of `audit_heads` in {@link auditInsertCtes}. */
  headsJson: string;
}

/**
 * `value` as canonical JSON and as the value that text parses to: what is hashed, what is
 * stored, and what jsonb will hand back (dates as ISO strings, no `undefined`), from one
 * serialisation.
 */
function json<T>(value: unknown): { text: string; value: T | null } {
  if (value === undefined || value === null) return { text: 'null', value: null };
  return canonicalForm(value) as { text: string; value: T | null };
}

/**
 * The JSON Patch from `before` to `after` (both as {@link json} gives them). A creation is one
 * `add` per field, as `compare({}, after)` has it, sharing the values of `after` instead of
 * copying them: they are fresh copies already, and nothing changes them.
 */
function patchOf(before: JsonObject | null, after: JsonObject | null) {
  if (before === null && after !== null && !Array.isArray(after)) {
    return Object.keys(after).map((key) => ({ op: 'add' as const, path: `/${jsonPatch.escapePathComponent(key)}`, value: after[key] }));
  }
  return jsonPatch.compare(before ?? {}, after ?? {});
}

const str = (value: string | number | null) => JSON.stringify(value);

/**
 * Appends events to their hash chains inside the caller's open transaction and returns
 * them as stored. Must run in the same transaction as the change it records, so the
 * change and its audit commit or roll back together.
 *
 * Per call: one statement locks the head of each scope involved (concurrent appends to
 * one scope queue here, across every instance), the events get consecutive `seq` numbers
 * in input order and their hashes in Node, then one statement inserts all events and
 * moves the heads. The head locks are held until the caller commits.
 *
 * @example
 * await withTransaction(pool, async (client) => {
 *   // … write the change …
 *   await appendAuditEvents(client, [{ scope: `site:${siteId}`, actor, service: 'config',
 *     siteId, orgId, entityType: 'asset', entityId: asset.id, action: 'update',
 *     outcome: 'applied', before, after: asset }]);
 * });
 */
export async function appendAuditEvents(
  client: pg.ClientBase,
  events: readonly AuditEventInput[],
): Promise<AuditEvent[]> {
  if (events.length === 0) return [];
  validate(events);
  const heads = await lockChainHeads(client, events.map((e) => e.scope));
  const chained = chainEvents(events, heads);
  const inserted = await client.query<{ id: string; scope: string; seq: number | string }>(INSERT_EVENTS, [chained.rowsJson, chained.headsJson]);

  const ids = new Map(inserted.rows.map((r) => [`${r.seq}:${r.scope}`, r.id]));
  return chained.stored.map((e) => {
    const id = ids.get(`${e.seq}:${e.scope}`);
    if (id === undefined) throw new Error(`audit insert returned no id for ${e.scope} #${e.seq}`);
    return { id, ...e };
  });
}

function validate(events: readonly AuditEventInput[]) {
  for (const event of events) {
    if (!event.scope) throw new TypeError('audit event needs a scope');
    if (!OUTCOMES.has(event.outcome)) throw new TypeError(`invalid audit outcome: ${String(event.outcome)}`);
  }
}

/**
 * Chains `events` onto `heads` (locked by {@link lockChainHeads} in the caller's transaction —
 * or, for the configuration write path's statement sent alone, the heads its instance's last
 * write left, which the unique `(scope, seq)` key checks — one for every scope the events name):
 * consecutive `seq` numbers in input order, one time for all of them, the diff of each, and the
 * hashes. Pure; `heads` is left as it was.
 */
export function chainEvents(events: readonly AuditEventInput[], locked: ReadonlyMap<string, ChainHead>): ChainedEvents {
  validate(events);
  const heads = new Map(locked);
  // Taken after the head locks (or, for a statement sent alone, after its instance's last write
  // to the scope): within a scope, a later seq never gets an earlier time because it waited
  // behind another appender.
  const at = new Date().toISOString();
  // Each large field is serialised once: its canonical JSON is hashed and stored as it is.
  const rows: string[] = [];
  // The events of one change share their actor: serialised once.
  let lastActor: { input: unknown; json: ReturnType<typeof json<AuditEvent['actor']>> } | undefined;
  const stored: Omit<AuditEvent, 'id'>[] = events.map((input) => {
    const head = heads.get(input.scope);
    if (!head) throw new Error(`audit head for ${input.scope} was not locked`);
    if (lastActor === undefined || lastActor.input !== input.actor) lastActor = { input: input.actor, json: json<AuditEvent['actor']>(input.actor) };
    const actor = lastActor.json;
    const before = json<JsonObject>(input.before);
    const after = json<JsonObject>(input.after);
    const violations = json<JsonObject[]>(input.violations);
    const diff = patchOf(before.value, after.value);
    const diffText = canonicalJson(diff);
    const fields = {
      scope: input.scope,
      seq: head.seq + 1,
      at,
      actor: actor.value as AuditEvent['actor'],
      requestId: input.requestId ?? null,
      changesetId: input.changesetId ?? null,
      service: input.service,
      orgId: input.orgId ?? null,
      siteId: input.siteId ?? null,
      siteRevision: input.siteRevision ?? null,
      entityType: input.entityType,
      entityId: input.entityId,
      action: input.action,
      outcome: input.outcome,
      before: before.value,
      after: after.value,
      diff,
      comment: input.comment ?? null,
      sourceIp: input.sourceIp ?? null,
      violations: violations.value,
    };
    const serialised = { actor: actor.text, before: before.text, after: after.text, diff: diffText, violations: violations.text };
    const hash = hashCanonical(head.hash, canonicalEventJson(fields, serialised));
    heads.set(input.scope, { seq: fields.seq, hash });
    rows.push(
      `{"scope":${str(fields.scope)},"seq":${fields.seq},"at":${str(at)},"actor":${actor.text},"request_id":${str(fields.requestId)},` +
        `"changeset_id":${str(fields.changesetId)},"service":${str(fields.service)},"org_id":${str(fields.orgId)},"site_id":${str(fields.siteId)},` +
        `"site_revision":${str(fields.siteRevision)},"entity_type":${str(fields.entityType)},"entity_id":${str(fields.entityId)},` +
        `"action":${str(fields.action)},"outcome":${str(fields.outcome)},"before":${before.text},"after":${after.text},"diff":${diffText},` +
        `"comment":${str(fields.comment)},"source_ip":${str(fields.sourceIp)},"violations":${violations.text},"prev_hash":${str(head.hash)},"hash":"${hash}"}`,
    );
    return { ...fields, prevHash: head.hash, hash };
  });

  const newHeads = [...heads].filter(([scope, head]) => locked.get(scope) !== head).map(([scope, head]) => ({ scope, seq: head.seq, hash: head.hash }));
  return { stored, rowsJson: `[${rows.join(',')}]`, headsJson: JSON.stringify(newHeads) };
}
