/**
 * Request validation: the Ajv compilers fastify uses, and the translation of Ajv errors into
 * the `errors[]` of a 422 VALIDATION_FAILED.
 *
 * Two Ajv instances, because bodies and URLs need different leniency: query strings, path
 * parameters and headers arrive as strings and are coerced (`?limit=50` → 50); a JSON body
 * is taken as sent, so `{"unitId": "5"}` is refused rather than silently turned into 5.
 * Both report every error (`allErrors`) and refuse unknown properties where a schema says
 * `additionalProperties: false` instead of silently dropping them — a typo in a device's
 * configuration must not vanish.
 */
import { Ajv } from 'ajv';
import type { AnySchemaObject, ErrorObject, KeywordDefinition, Options, ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyServerOptions } from 'fastify';
import { isUuid } from '../core/ids.ts';
import type { FieldError, RequestPart } from './errors.ts';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type BuildValidator = NonNullable<NonNullable<SchemaController['compilersFactory']>['buildValidator']>;

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const baseOptions: Options = {
  allErrors: true,
  useDefaults: true,
  removeAdditional: false,
  strict: false,
  addUsedSchema: false,
};

function createAjv(options: Options, externalSchemas: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ ...baseOptions, ...options });
  addFormats(ajv);
  ajv.addKeyword(lowerCaseUuidKeyword);
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(withLowerCaseUuids(schema) as object);
  return ajv;
}

function compile(ajv: Ajv, schema: { $id?: string }): ValidateFunction {
  const stored = schema.$id === undefined ? undefined : ajv.getSchema(schema.$id);
  return stored ?? ajv.compile(withLowerCaseUuids(schema) as object);
}

const LOWER_CASE_UUID = 'x-lower-case-uuid';

/**
 * Writes a UUID of the request (a path parameter, a filter, an id in a body) in lower case, the
 * form rema stores and answers with: PostgreSQL's `uuid` reads `E356…` and `e356…` as one id,
 * but the write path, the site-graph cache, the audit log and ETags compare ids as text, so an id
 * sent in upper case must not travel on as it was sent.
 */
export const lowerCaseUuidKeyword: KeywordDefinition = {
  keyword: LOWER_CASE_UUID,
  schemaType: 'boolean',
  modifying: true,
  errors: false,
  validate(_schema: boolean, data: unknown, _parentSchema?: AnySchemaObject, cxt?: DataValidationCxt) {
    if (typeof data === 'string' && cxt?.parentData !== undefined && isUuid(data) && data !== data.toLowerCase()) {
      (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] = data.toLowerCase();
    }
    return true;
  },
};

/**
 * The same keyword for a document that must not be changed as it is checked (a configuration,
 * checked after the write path has compared it with the one before): a uuid in upper case is
 * refused instead of written in lower case.
 */
export const lowerCaseUuidRequiredKeyword: KeywordDefinition = {
  keyword: LOWER_CASE_UUID,
  schemaType: 'boolean',
  errors: true,
  validate: function lowerCaseUuid(_schema: boolean, data: unknown) {
    if (typeof data !== 'string' || !isUuid(data) || data === data.toLowerCase()) return true;
    (lowerCaseUuid as unknown as { errors: Array<Partial<ErrorObject>> }).errors = [
      { keyword: LOWER_CASE_UUID, message: `must be written in lower case (${data.toLowerCase()}), as rema writes ids`, params: {} },
    ];
    return false;
  },
};

/** A copy of `schema` in which every `format: 'uuid'` also carries {@link lowerCaseUuidKeyword} (or, where that keyword is defined so, {@link lowerCaseUuidRequiredKeyword}). */
export function withLowerCaseUuids(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withLowerCaseUuids);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'const' || key === 'default' || key === 'examples' ? value : withLowerCaseUuids(value);
  if (out.format === 'uuid' && out.type === 'string') out[LOWER_CASE_UUID] = true;
  return out;
}

/**
 * The `schemaController.compilersFactory.buildValidator` option for fastify: strict bodies,
 * coerced query/params/headers, all errors reported.
 */
export const buildValidator: BuildValidator = (externalSchemas) => {
  const externals = (externalSchemas ?? {}) as Record<string, unknown>;
  const bodyAjv = createAjv({ coerceTypes: false }, externals);
  const urlAjv = createAjv({ coerceTypes: 'array' }, externals);
  return ({ schema, httpPart }) => {
    if (httpPart === 'body') return compile(bodyAjv, schema as { $id?: string });
    return compile(urlAjv, (httpPart === 'querystring' ? closedQuery(schema) : schema) as { $id?: string });
  };
};

interface ObjectSchema {
  type?: unknown;
  properties?: Record<string, unknown>;
  required?: string[];
  additionalProperties?: unknown;
  allOf?: ObjectSchema[];
  $id?: unknown;
}

/**
 * A query string schema that refuses parameters it does not name, unless it says otherwise: a
 * misspelt `?dryrun=true` must not commit the change it was to try, nor `?sitId=` list the whole
 * fleet. An intersection of objects (`allOf`) becomes the one object it describes, closed.
 */
function closedQuery(schema: unknown): unknown {
  const s = schema as ObjectSchema;
  if (s.additionalProperties !== undefined || s.$id !== undefined) return schema;
  if (s.type === 'object') return { ...s, additionalProperties: false };
  const parts = s.allOf;
  if (s.type === undefined && Array.isArray(parts) && parts.length > 0 && parts.every((p) => p.type === 'object' && p.additionalProperties === undefined && p.$id === undefined)) {
    const { allOf: _parts, ...rest } = s;
    return {
      ...rest,
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: [...new Set(parts.flatMap((p) => p.required ?? []))],
      additionalProperties: false,
    };
  }
  return schema;
}

/**
 * Gives every API route without a query string schema one that takes no parameter, so that
 * {@link closedQuery} holds there too: `PATCH /v1/assets/{id}?dryRun=true` would otherwise
 * apply the change it was to try. Routes that pass a path on (`*`) are left alone.
 */
export function installClosedQueries(app: { addHook(name: 'onRoute', hook: (route: { url: string; schema?: Record<string, unknown> }) => void): unknown }): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/') || route.url.includes('*')) return;
    route.schema ??= {};
    route.schema.querystring ??= { type: 'object', properties: {}, additionalProperties: false };
  });
}

/** The slice of an Ajv error this module reads; fastify's validation errors have this shape. */
export type AjvLikeError = Pick<ErrorObject, 'keyword' | 'instancePath' | 'schemaPath' | 'params'> & {
  message?: string;
};

/** A key as one token of a JSON Pointer (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * A readable message for a failed union when its branches are all types or all constants — or,
 * for a nullable value (`T | null`) of the right type, the constraint it breaks: `must match
 * pattern …` rather than `must match a schema in anyOf`.
 */
function unionMessage(branches: AjvLikeError[], path: string): string | undefined {
  if (branches.length === 0) return undefined;
  const notNull = branches.filter((b) => !(b.keyword === 'type' && b.params.type === 'null'));
  // The value has the branch's type (no type error) but breaks a constraint of it.
  if (notNull.length > 0 && notNull.length < branches.length && notNull.every((b) => b.instancePath === path && b.keyword !== 'type' && !isUnion(b))) {
    const messages = [...new Set(notNull.map((b) => b.message).filter((m): m is string => typeof m === 'string'))];
    if (messages.length > 0) return messages.join('; ');
  }
  if (branches.every((b) => b.keyword === 'type')) return `must be ${[...new Set(branches.map((b) => String(b.params.type)))].join(' or ')}`;
  if (branches.every((b) => b.keyword === 'const')) {
    return `must be one of ${JSON.stringify(branches.map((b) => (b.params as { allowedValue: unknown }).allowedValue))}`;
  }
  return undefined;
}

/**
 * Turns Ajv errors into one {@link FieldError} per failing constraint. The per-branch noise of
 * `anyOf`/`oneOf` is folded into the union's own error ("must be string or null",
 * `must be one of ["none","even"]`).
 *
 * @example
 * toFieldErrors('body', [{ keyword: 'required', instancePath: '', schemaPath: '#/required',
 *   params: { missingProperty: 'name' } }]);
 * // [{ in: 'body', path: '/name', message: 'is required' }]
 */
export function toFieldErrors(part: RequestPart, ajvErrors: readonly AjvLikeError[]): FieldError[] {
  const branches = unionBranches(ajvErrors);
  const hidden = new Set([...branches.values()].flat());
  const branchesOf = (union: AjvLikeError) => branches.get(union) ?? [];

  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of ajvErrors) {
    if (hidden.has(error)) continue;
    const field = toFieldError(part, error, branchesOf);
    const key = `${field.path}\u0000${field.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(field);
  }
  return out;
}

const isUnion = (e: AjvLikeError) => e.keyword === 'anyOf' || e.keyword === 'oneOf';

/**
 * The branch errors of each failed union: the errors below its schema path *and* at or below its
 * instance path — the items of an array share one schema path, so item 5's union owns only item
 * 5's branch errors. Linear in the errors (times the depth of the paths): a body of 20,000
 * wrong items gives some 180,000 errors, and pairing every union with every error would take minutes.
 */
function unionBranches(ajvErrors: readonly AjvLikeError[]): Map<AjvLikeError, AjvLikeError[]> {
  const branches = new Map<AjvLikeError, AjvLikeError[]>();
  // Two unions may share both paths (one schema reached twice, e.g. through allOf): both own the branches.
  const unions = new Map<string, AjvLikeError[]>();
  for (const e of ajvErrors) {
    if (!isUnion(e)) continue;
    branches.set(e, []);
    const key = `${e.schemaPath}\u0000${e.instancePath}`;
    unions.set(key, [...(unions.get(key) ?? []), e]);
  }
  if (unions.size === 0) return branches;
  for (const e of ajvErrors) {
    for (const schemaPrefix of unionSchemaPrefixes(e.schemaPath)) {
      for (const instancePrefix of pointerPrefixes(e.instancePath)) {
        for (const union of unions.get(`${schemaPrefix}\u0000${instancePrefix}`) ?? []) if (union !== e) branches.get(union)?.push(e);
      }
    }
  }
  return branches;
}

/** `#/a/anyOf/1/b/oneOf/0/c` → `#/a/anyOf`, `#/a/anyOf/1/b/oneOf`: the unions a schema path lies inside. */
function unionSchemaPrefixes(schemaPath: string): string[] {
  const out: string[] = [];
  for (let i = schemaPath.indexOf('Of/'); i !== -1; i = schemaPath.indexOf('Of/', i + 3)) {
    const prefix = schemaPath.slice(0, i + 2);
    if (prefix.endsWith('/anyOf') || prefix.endsWith('/oneOf')) out.push(prefix);
  }
  return out;
}

/** `/a/0/b` → `''`, `/a`, `/a/0`, `/a/0/b`. */
function pointerPrefixes(pointer: string): string[] {
  const out = [''];
  for (let i = pointer.indexOf('/', 1); i !== -1; i = pointer.indexOf('/', i + 1)) out.push(pointer.slice(0, i));
  if (pointer !== '') out.push(pointer);
  return out;
}

function toFieldError(
  part: RequestPart,
  error: AjvLikeError,
  branchesOf: (union: AjvLikeError) => AjvLikeError[],
): FieldError {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { in: part, path: `${path}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        in: part,
        path: `${path}/${escapePointer(String(params.additionalProperty))}`,
        message: part === 'querystring' ? 'is not a query parameter of this endpoint' : 'is not a known property',
      };
    case 'enum':
      return {
        in: part,
        path,
        message: `must be one of ${JSON.stringify(params.allowedValues)}`,
      };
    case 'anyOf':
    case 'oneOf': {
      return { in: part, path, message: unionMessage(branchesOf(error), path) ?? error.message ?? 'is invalid' };
    }
    default:
      return { in: part, path, message: error.message ?? 'is invalid' };
  }
}
