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
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
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
  if (Array.isArray(value)) {
    return `[${value.map((item) => serialise(item) ?? 'null').join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const item = serialise(record[key]);
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
  }
  return `{${parts.join(',')}}`;
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

/**
 * The chain hash of one event: lowercase hex sha256 over the UTF-8 bytes of
 * `(prevHash ?? '') + canonicalJson(hashedFields(event))`. Changing any hashed field of an
 * event changes its hash; changing a hash breaks the next event's `prevHash` link.
 *
 * @example
 * const hash = hashEvent(previous?.hash ?? null, event);
 */
export function hashEvent(prevHash: string | null, event: AuditHashedFields): string {
  return createHash('sha256')
    .update(prevHash ?? '', 'utf8')
    .update(canonicalJson(hashedFields(event)), 'utf8')
    .digest('hex');
}
