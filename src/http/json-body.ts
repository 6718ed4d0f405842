/**
 * The only request body parser: JSON (`application/json`, `application/merge-patch+json` and
 * any other `application/*+json`). Any other content type on a request with a body is a 415.
 *
 * Before parsing, one linear scan measures the nesting depth, so a hostile `[[[[…]]]]` is
 * refused with 400 before any recursive code (prototype-poisoning scan, Ajv, serialisers)
 * walks it.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';

/** Deepest nesting of objects/arrays a body may have. Real configuration documents use < 10. */
export const MAX_JSON_DEPTH = 64;

/** Media types parsed as JSON: `application/json` and every `application/<x>+json`. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * Deepest nesting of arrays/objects in `text`, ignoring brackets inside strings. Stops early
 * once `limit` is exceeded, returning `limit + 1`.
 *
 * @example
 * jsonDepth('{"a":[1,{"b":"[["}]}'); // 3
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** A charset parameter other than UTF-8's. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * Why a JSON media type is refused, or undefined: a JSON Patch (RFC 6902), which is not the
 * merge patch PATCH applies and would be misread as one, and any charset but UTF-8 (or US-ASCII,
 * a part of it: the body is read as UTF-8, as RFC 8259 has JSON exchanged).
 */
function unsupportedJson(contentType: string): string | undefined {
  if (/^application\/json-patch\+json\s*(?:;|$)/i.test(contentType)) {
    return 'JSON Patch (application/json-patch+json) is not supported: PATCH takes a JSON Merge Patch (RFC 7396), sent as application/merge-patch+json or application/json.';
  }
  const charset = CHARSET.exec(contentType)?.[1];
  if (charset !== undefined && !/^(?:utf-?8|us-ascii)$/i.test(charset)) return `Request bodies are read as UTF-8; charset=${charset} is not supported.`;
  return undefined;
}

/**
 * Replaces fastify's body parsers with the depth-limited JSON parser. fastify's own JSON
 * parser (secure-json-parse, which refuses `__proto__` and `constructor.prototype` keys) does
 * the parsing once the depth is known to be safe.
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (request, body, done) => {
    const refused = unsupportedJson(String(request.headers['content-type'] ?? ''));
    if (refused) {
      done(new ApiError('UNSUPPORTED_MEDIA_TYPE', refused), undefined);
      return;
    }
    const text = body as string;
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(new ApiError('JSON_TOO_DEEP', `The body nests objects/arrays more than ${maxDepth} levels deep.`), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
