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

/**
 * Replaces fastify's body parsers with the depth-limited JSON parser. fastify's own JSON
 * parser (secure-json-parse, which refuses `__proto__` and `constructor.prototype` keys) does
 * the parsing once the depth is known to be safe.
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(new ApiError('JSON_TOO_DEEP', `The body nests objects/arrays more than ${maxDepth} levels deep.`), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
