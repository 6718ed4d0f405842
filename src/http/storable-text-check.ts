/**
 * Every request's path parameters, query and body are checked for text PostgreSQL cannot store
 * (NUL, unpaired surrogates: src/db/storable-text.ts) before validation, and such a request is
 * answered 422 VALIDATION_FAILED naming each field — instead of failing deep in a query with a
 * 500, or storing something other than what was sent.
 */
import type { FastifyInstance } from 'fastify';
import { unstorableText } from '../db/storable-text.ts';
import { ApiError, type FieldError, type RequestPart } from './errors.ts';

const MESSAGE = 'must not contain NUL (U+0000) or unpaired surrogate characters';

/** Refuses, before schema validation, any request whose path parameters, query or body hold such text. */
export function installStorableTextCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and never waits.
  app.addHook('preValidation', (request, _reply, done) => {
    let errors: FieldError[] | undefined;
    const check = (part: RequestPart, value: unknown) => {
      if (value === undefined || value === null) return;
      for (const path of unstorableText(value)) (errors ??= []).push({ in: part, path, message: MESSAGE });
    };
    check('params', request.params);
    check('querystring', request.query);
    check('body', request.body);
    if (errors === undefined) return done();
    done(new ApiError('VALIDATION_FAILED', `${errors.length} field${errors.length === 1 ? '' : 's'} hold text that cannot be stored (NUL or unpaired surrogates).`, { extra: { errors } }));
  });
}
