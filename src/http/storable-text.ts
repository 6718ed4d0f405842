/**
 * Text PostgreSQL cannot store: U+0000 (refused in `text` and `jsonb`) and unpaired UTF-16
 * surrogates (not Unicode scalar values: `jsonb` refuses their `\ud800` escapes, `text` would
 * silently get U+FFFD instead). JSON and URLs can carry both, so every request's path
 * parameters, query and body are checked before validation, and such a request is answered
 * 422 VALIDATION_FAILED naming each field — instead of failing deep in a query with a 500, or
 * storing something other than what was sent.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, type FieldError, type RequestPart } from './errors.ts';

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const MESSAGE = 'must not contain NUL (U+0000) or unpaired surrogate characters';

/** Escapes a property name for a JSON Pointer (RFC 6901). */
const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * JSON Pointers of every string (or property name) in `value` that holds text PostgreSQL
 * cannot store, at most `limit` of them.
 *
 * @example
 * unstorableText({ name: 'a\u0000b', tags: ['ok', '\ud800'] }); // ['/name', '/tags/1']
 */
export function unstorableText(value: unknown, limit = 20): string[] {
  const found: string[] = [];
  const walk = (v: unknown, at: string) => {
    if (found.length >= limit) return;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) found.push(at);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${at}/${i}`));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (UNSTORABLE.test(key)) found.push(`${at}/${escape(key)}`);
        walk(item, `${at}/${escape(key)}`);
      }
    }
  };
  walk(value, '');
  return found.slice(0, limit);
}

/** Refuses, before schema validation, any request whose path parameters, query or body hold such text. */
export function installStorableTextCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const parts: Array<[RequestPart, unknown]> = [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ];
    const errors: FieldError[] = parts.flatMap(([part, value]) => unstorableText(value).map((path) => ({ in: part, path, message: MESSAGE })));
    if (errors.length > 0) {
      throw new ApiError('VALIDATION_FAILED', `${errors.length} field${errors.length === 1 ? '' : 's'} hold text that cannot be stored (NUL or unpaired surrogates).`, { extra: { errors } });
    }
  });
}
