/**
 * Strong ETags from resource versions, and the `If-Match` checks every PUT/PATCH/DELETE makes.
 *
 * An ETag names the resource and its version, `"asset-3f2c…-v7"`, so a tag copied from one
 * resource can never pass as the version of another. The kind has no hyphen and the version
 * is the trailing digits, which keeps the format unambiguous whatever the id contains.
 */
import { ApiError } from './errors.ts';

/** What an ETag says: which resource, at which version. */
export interface EtagParts {
  kind: string;
  id: string;
  version: number;
}

const KIND = /^[a-z][a-z0-9_]*$/;
/** RFC 9110 etagc minus the characters we never put in ids; keeps tags header-safe. */
const ID = /^[\x21\x23-\x7e]+$/;
const STRONG_TAG = /^"([a-z][a-z0-9_]*)-([\x21\x23-\x7e]+)-v(0|[1-9]\d{0,14})"$/;

/**
 * The strong ETag of version `version` of resource `kind`/`id`.
 *
 * @example
 * etagOf('asset', '3f2c9a', 7); // '"asset-3f2c9a-v7"'
 */
export function etagOf(kind: string, id: string, version: number): string {
  if (!KIND.test(kind)) throw new TypeError(`etag kind must match ${KIND}: ${kind}`);
  if (!ID.test(id)) throw new TypeError(`etag id has characters not allowed in an ETag: ${id}`);
  if (!Number.isSafeInteger(version) || version < 0) throw new TypeError(`etag version must be a non-negative integer: ${version}`);
  return `"${kind}-${id}-v${version}"`;
}

/** The parts of a strong ETag made by {@link etagOf}, or undefined when it is not one. */
export function parseEtag(tag: string): EtagParts | undefined {
  const match = STRONG_TAG.exec(tag.trim());
  if (!match) return undefined;
  return { kind: match[1], id: match[2], version: Number(match[3]) };
}

function invalid(detail: string): ApiError {
  return new ApiError('INVALID_ETAG', detail);
}

/**
 * The version a write expects, read from its `If-Match` header.
 *
 * Throws 428 PRECONDITION_REQUIRED when the header is missing; 400 INVALID_ETAG for `*`, a
 * weak tag, a list of tags or anything not made by {@link etagOf} (a write must name the one
 * version it was based on); 412 PRECONDITION_FAILED when `resource` is given and the tag
 * belongs to another resource.
 *
 * @example
 * const expected = parseIfMatch(request.headers['if-match'], { kind: 'asset', id });
 */
export function parseIfMatch(header: string | string[] | undefined, resource?: { kind: string; id: string }): number {
  const value = (Array.isArray(header) ? header.join(', ') : header)?.trim();
  if (value === undefined || value === '') {
    throw new ApiError(
      'PRECONDITION_REQUIRED',
      'This write needs an If-Match header with the ETag of the version you read (GET the resource to obtain it).',
    );
  }
  if (value === '*') {
    throw invalid('If-Match: * is not accepted; send the ETag of the exact version you read, e.g. If-Match: "asset-…-v3".');
  }
  if (value.startsWith('W/')) {
    throw invalid('Weak ETags cannot guard a write; send the strong ETag from the ETag response header, without W/.');
  }
  const parts = parseEtag(value);
  if (!parts) {
    const list = value.includes('",');
    throw invalid(
      list
        ? 'If-Match must hold exactly one ETag: the version this write is based on.'
        : `If-Match ${value.slice(0, 80)} is not an ETag issued by this API; copy the ETag response header verbatim, quotes included.`,
    );
  }
  if (resource && (parts.kind !== resource.kind || parts.id !== resource.id)) {
    throw new ApiError('PRECONDITION_FAILED', `If-Match names ${parts.kind} ${parts.id}, not ${resource.kind} ${resource.id}.`);
  }
  return parts.version;
}

/**
 * Refuses a write based on a stale version: 412 PRECONDITION_FAILED carrying `currentEtag`,
 * so the client can re-read, re-apply its change and retry.
 *
 * @example
 * assertVersion(expected, row.version, etagOf('asset', row.id, row.version));
 */
export function assertVersion(expected: number, current: number, currentEtag: string): void {
  if (expected !== current) {
    throw new ApiError(
      'PRECONDITION_FAILED',
      `The resource changed since you read it: you sent version ${expected}, it is now at version ${current}.`,
      { extra: { currentEtag } },
    );
  }
}
