/**
 * A body whose array is longer than its schema allows is refused before schema validation.
 * Validation reports every error (`allErrors`), so it would first check each of 20,000 items —
 * each against every kind of operation of a change set, ~0.4 s of the event loop, during which
 * the instance answers nothing else — only to say that the array is too long. Checked here:
 * a top-level array body and the array properties of a top-level object body, which is where
 * the API's long lists are (`operations`, `items`, `assetIds`).
 */
import type { FastifyInstance } from 'fastify';
import { validationFailed } from './error-handler.ts';
import type { FieldError } from './errors.ts';
import { escapePointer } from './validation.ts';

interface ArraySchema {
  type?: unknown;
  maxItems?: number;
  properties?: Record<string, ArraySchema>;
}

const tooLong = (schema: ArraySchema | undefined, value: unknown): schema is ArraySchema & { maxItems: number } =>
  schema?.type === 'array' && typeof schema.maxItems === 'number' && Array.isArray(value) && value.length > schema.maxItems;

/** Refuses with 422 VALIDATION_FAILED, naming each array over its `maxItems`, before the body's schema runs. */
export function installArrayLimitCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and never waits.
  app.addHook('preValidation', (request, _reply, done) => {
    const schema = request.routeOptions.schema?.body as ArraySchema | undefined;
    const body = request.body;
    if (!schema || body === null || typeof body !== 'object') return done();
    const errors: FieldError[] = [];
    const check = (s: ArraySchema | undefined, value: unknown, path: string) => {
      if (tooLong(s, value)) errors.push({ in: 'body', path, message: `must NOT have more than ${s.maxItems} items` });
    };
    check(schema, body, '');
    if (schema.type === 'object' && schema.properties && !Array.isArray(body)) {
      for (const [key, property] of Object.entries(schema.properties)) check(property, (body as Record<string, unknown>)[key], `/${escapePointer(key)}`);
    }
    done(errors.length > 0 ? validationFailed('body', errors) : undefined);
  });
}
