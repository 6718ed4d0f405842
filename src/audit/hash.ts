import { hash } from 'node:crypto';
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
  return canonicalForm(value).text;
}

/**
 * {@link canonicalJson} of `value`, and the value that text parses to (dates as ISO strings,
 * no `undefined`, non-finite numbers as null): what is hashed and stored, and what jsonb hands
 * back, without parsing the text again.
 *
 * Sorted copies written by the native `JSON.stringify` are several times faster than writing
 * the text here. An object with array-index keys ("0", "10") cannot hold them in sorted order
 * (JS enumerates those first, in numeric order), so such a value is written by `serialise`,
 * and its parsed value has those keys in JS order.
 */
export function canonicalForm(value: unknown): { text: string; value: unknown } {
  const sorted = sortedCopy(value);
  if (sorted === UNSORTABLE) {
    const text = serialise(value) ?? 'null';
    return { text, value: JSON.parse(text) as unknown };
  }
  if (sorted === undefined) return { text: 'null', value: null };
  return { text: JSON.stringify(sorted), value: sorted };
}

const UNSORTABLE = Symbol('unsortable');

/**
 * `value` as JSON would give it back — toJSON applied, undefined, functions and symbols
 * dropped from objects and null in arrays, non-finite numbers null, -0 as 0 — with the keys of
 * every object in sorted order; or UNSORTABLE.
 */
function sortedCopy(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value + 0 : null;
    case 'bigint':
      throw new TypeError('canonicalJson: bigint is not JSON');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortedCopy((value as { toJSON: () => unknown }).toJSON());
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i]);
      if (item === UNSORTABLE) return UNSORTABLE;
      out[i] = item === undefined ? null : item;
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i].charCodeAt(0);
    if (c >= 48 && c <= 57 && isArrayIndex(keys[i])) return UNSORTABLE;
    if (i > 0 && keys[i - 1] > keys[i]) sorted = false;
  }
  if (!sorted) keys.sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const item = sortedCopy(record[key]);
    if (item === UNSORTABLE) return UNSORTABLE;
    if (item === undefined) continue;
    // Assigning "__proto__" would set the prototype: it is an own property like any other.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out;
}

const isArrayIndex = (key: string) => /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;

/** The canonical text of a value holding an object with array-index keys (see {@link canonicalForm}). */
function serialise(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    const primitive = sortedCopy(value);
    return primitive === undefined ? undefined : JSON.stringify(primitive);
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return serialise((value as { toJSON: () => unknown }).toJSON());
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
  // One call (crypto.hash) rather than a Hash object per event: the text is hashed once, as a whole.
  return hash('sha256', (prevHash ?? '') + canonical, 'hex');
}
