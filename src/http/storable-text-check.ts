/**
 * Every request's path parameters, query and body are checked for values PostgreSQL cannot store
 * (text with NUL or unpaired surrogates, numbers beyond a double's range: src/db/storable-text.ts)
 * before validation, and such a request is answered 422 VALIDATION_FAILED naming each field —
 * instead of failing deep in a query with a 500, or storing something other than what was sent.
 */
import type { FastifyInstance } from 'fastify';
import { unstorableValues } from '../db/storable-text.ts';
import { ApiError, type FieldError, type RequestPart } from './errors.ts';

const MESSAGES = {
  text: 'must not contain NUL (U+0000) or unpaired surrogate characters',
  number: 'must be a finite number: this one is beyond the range of a double (it reads as Infinity) and cannot be stored',
} as const;

/** Refuses, before schema validation, any request whose path parameters, query or body hold such values. */
export function installStorableTextCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and never waits.
  app.addHook('preValidation', (request, _reply, done) => {
    let errors: FieldError[] | undefined;
    const check = (part: RequestPart, value: unknown) => {
      if (value === undefined || value === null) return;
      for (const { path, what } of unstorableValues(value)) (errors ??= []).push({ in: part, path, message: MESSAGES[what] });
    };
    check('params', request.params);
    check('querystring', request.query);
    check('body', request.body);
    if (errors === undefined) return done();
    const n = errors.length;
    done(new ApiError('VALIDATION_FAILED', `${n} field${n === 1 ? '' : 's'} hold${n === 1 ? 's' : ''} a value that cannot be stored (text with NUL or unpaired surrogates, or a number beyond a double's range).`, { extra: { errors } }));
  });
}
