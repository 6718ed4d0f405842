import { createHash } from 'node:crypto';
import type { AuditHashedFields } from './types.ts';

/**
 * Serialises a JSON value deterministically: object keys sorted by UTF-16 code units at
 * every depth, no whitespace, numbers and strings exactly as `JSON.stringify` writes them.
 * For the values audit events hold this is the RFC 8785 (JCS) form, so a verifier in any
 * language can reproduce it.
 *
 * Follows `JSON.stringify` semantics for non-JSON input (`toJSON` is honoured, so Dates
 * become ISO strings; `undefined` properties are dropped; `undefined` in arrays and
 * non-finite numbers become `null`), which is also what storing the value in jsonb does.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return serialise(value) ?? 'null';
}

function serialise(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonicalJson: bigint is not JSON');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return serialise((value as { toJSON: () => unknown }).toJSON());
  // Built by appending: this runs for every audited change, on objects of a few hundred values.
  if (Array.isArray(value)) {
    let out = '[';
    // By index, not map(): a hole is `null`, as JSON.stringify writes it.
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (serialise(value[i]) ?? 'null');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (const key of keys) {
    const item = serialise(record[key]);
    if (item === undefined) continue;
    out += (out.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + item;
  }
  return `${out}}`;
}

/**
 * The exact object whose canonical JSON is hashed. Picking the fields by name (rather than
 * spreading the event) keeps `id`, `hash` or any future column out of the hash input, and
 * mapping absent values to `null` makes an input without `requestId` hash the same as the
 * stored row with `request_id IS NULL`.
 */
export function hashedFields(event: AuditHashedFields): AuditHashedFields {
  return {
    scope: event.scope,
    seq: event.seq,
    at: event.at,
    actor: event.actor,
    requestId: event.requestId ?? null,
    changesetId: event.changesetId ?? null,
    service: event.service,
    orgId: event.orgId ?? null,
    siteId: event.siteId ?? null,
    siteRevision: event.siteRevision ?? null,
    entityType: event.entityType,
    entityId: event.entityId,
    action: event.action,
    outcome: event.outcome,
    before: event.before ?? null,
    after: event.after ?? null,
    diff: event.diff,
    comment: event.comment ?? null,
    sourceIp: event.sourceIp ?? null,
    violations: event.violations ?? null,
  };
}

/** The keys of {@link hashedFields}, sorted as canonical JSON sorts them. */
const HASHED_KEYS = Object.keys(hashedFields({} as AuditHashedFields)).sort();

/** Fields whose canonical JSON the caller may already hold (the large ones). */
export type SerialisedFields = Partial<Record<'actor' | 'before' | 'after' | 'diff' | 'violations', string>>;

/**
 * `canonicalJson(hashedFields(event))`, taking the canonical JSON of the fields in `serialised`
 * as given instead of serialising them again: whoever appends events already has that text of
 * `before` and `after`, and stores it too.
 *
 * @example
 * canonicalEventJson(event, { after: canonicalJson(event.after) }) === canonicalJson(hashedFields(event)) // true
 */
export function canonicalEventJson(event: AuditHashedFields, serialised: SerialisedFields = {}): string {
  const fields = hashedFields(event) as unknown as Record<string, unknown>;
  const given = serialised as Record<string, string | undefined>;
  let out = '{';
  for (const key of HASHED_KEYS) out += `${out.length > 1 ? ',' : ''}"${key}":${given[key] ?? canonicalJson(fields[key])}`;
  return `${out}}`;
}

/**
 * The chain hash of one event: lowercase hex sha256 over the UTF-8 bytes of
 * `(prevHash ?? '') + canonicalJson(hashedFields(event))`. Changing any hashed field of an
 * event changes its hash; changing a hash breaks the next event's `prevHash` link.
 *
 * @example
 * const hash = hashEvent(previous?.hash ?? null, event);
 */
export function hashEvent(prevHash: string | null, event: AuditHashedFields): string {
  return hashCanonical(prevHash, canonicalJson(hashedFields(event)));
}

/** {@link hashEvent} from the event's canonical JSON (see {@link canonicalEventJson}). */
export function hashCanonical(prevHash: string | null, canonical: string): string {
  return createHash('sha256').update(prevHash ?? '', 'utf8').update(canonical, 'utf8').digest('hex');
}
