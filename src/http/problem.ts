/**
 * RFC 9457 problem details: the body of every error response, its JSON Schema (shared as the
 * OpenAPI `Problem` component) and the one function that sends it.
 */
import { Type } from 'typebox';
import type { TSchema } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorCodes, errors } from './errors.ts';
import type { ErrorCode, FieldError } from './errors.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';
import type { Violation } from '../core/rules/types.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://rema.dev/problems/';

/** The body of an error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldError[];
  violations?: Violation[];
  currentEtag?: string;
  [member: string]: unknown;
}

/**
 * The problem type URI of a code.
 *
 * @example
 * problemType('CONFLICT_RULES'); // 'https://rema.dev/problems/conflict-rules'
 */
export function problemType(code: ErrorCode): string {
  return TYPE_BASE + code.toLowerCase().replaceAll('_', '-');
}

const FieldErrorSchema = Type.Object({
  in: Type.Unsafe<FieldError['in']>({ type: 'string', enum: ['body', 'querystring', 'params', 'headers'] }),
  path: Type.String({ description: 'JSON Pointer into the request part' }),
  message: Type.String(),
});

const ViolationSchema = Type.Object({
  rule: Type.String(),
  code: Type.String(),
  message: Type.String(),
  assetIds: Type.Array(Type.String()),
  path: Type.Optional(Type.String()),
  severity: Type.Unsafe<Violation['severity']>({ type: 'string', enum: ['error', 'warning'] }),
});

/** JSON Schema of {@link Problem}, registered as the shared schema `Problem`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...errorCodes] }),
    detail: Type.String(),
    instance: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
    violations: Type.Optional(Type.Array(ViolationSchema)),
    currentEtag: Type.Optional(Type.String()),
  },
  { $id: 'Problem', title: 'Problem', additionalProperties: true },
);

/** Builds the problem body of `error` for `request`. */
export function problemOf(error: ApiError, request: Pick<FastifyRequest, 'url' | 'id'>): Problem {
  const problem: Problem = {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.detail,
    instance: request.url,
    requestId: String(request.id),
  };
  for (const [member, value] of Object.entries(error.extra)) {
    if (!(member in problem) && value !== undefined) problem[member] = value;
  }
  return problem;
}

/**
 * Sends `error` as `application/problem+json` with its headers. The body is serialised here,
 * so a route's own response schema never reshapes (or strips) a problem.
 */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  reply.header(REQUEST_ID_HEADER, request.id);
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  if (error.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '2');
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemOf(error, request)));
}

/**
 * Response schemas for the error statuses a route documents, pointing at the shared `Problem`.
 *
 * @example
 * app.put('/sites/:id', { schema: { response: { 200: Site, ...problemResponses(404, 409, 412, 428) } } }, …);
 */
export function problemResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of statuses) {
    const codes = errorCodes.filter((code) => errors[code].status === status);
    out[status] = Type.Unsafe<Problem>({
      $ref: 'Problem',
      description: codes.length > 0 ? codes.join(', ') : 'Problem',
    });
  }
  return out;
}
