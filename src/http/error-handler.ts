/**
 * Every error leaves the server as RFC 9457 problem+json with a registry code. This file maps
 * what can be thrown — our own {@link ApiError}s, fastify's validation and body-parsing
 * errors, database errors, anything else — onto the registry, and installs the error and
 * not-found handlers.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';
import type { ErrorCode, FieldError, RequestPart } from './errors.ts';
import { sendProblem } from './problem.ts';
import { toFieldErrors } from './validation.ts';
import type { AjvLikeError } from './validation.ts';
import { constraintViolation, dataException, isDatabaseUnavailable } from './db-errors.ts';
import { CLAIM_TAKEN_OVER } from './idempotency.ts';
import type { AllowedMethods } from './allowed-methods.ts';

type ErrorLike = Partial<FastifyError> & { validation?: AjvLikeError[]; validationContext?: string };

const JSON_TYPES = 'application/json (or application/merge-patch+json for PATCH)';

/** fastify's own error codes that are the client's fault, mapped onto the registry. */
const FASTIFY_CODES: Record<string, () => ApiError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => new ApiError('INVALID_JSON', 'The request body is not valid JSON.'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new ApiError('INVALID_JSON', 'The request declares a JSON body but sends none; send a JSON document or omit Content-Type.'),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError('PAYLOAD_TOO_LARGE', 'The request body exceeds the size limit.'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new ApiError('UNSUPPORTED_MEDIA_TYPE', `Request bodies must be JSON: send Content-Type: ${JSON_TYPES}.`),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new ApiError('BAD_REQUEST', 'Content-Length does not match the length of the body.'),
  FST_ERR_BAD_URL: () => new ApiError('BAD_REQUEST', 'The URL is not validly percent-encoded.'),
  FST_ERR_MAX_PARAM_LENGTH: () => new ApiError('NOT_FOUND', 'A path parameter is longer than any identifier.'),
};

/**
 * The code reported for a 4xx thrown by a plugin that knows only its status. Statuses whose
 * codes carry a specific meaning (409, 412, 422, 428) are not guessed: they become BAD_REQUEST.
 */
const CODE_FOR_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Cap on `errors[]`, so a 10,000-item array of bad rows does not produce a 2 MB answer. */
const MAX_FIELD_ERRORS = 200;

const REQUEST_PARTS = new Set<string>(['body', 'querystring', 'params', 'headers']);

/** 422 VALIDATION_FAILED listing `fieldErrors` (the first {@link MAX_FIELD_ERRORS}) and saying how many failed. */
export function validationFailed(part: RequestPart, fieldErrors: readonly FieldError[]): ApiError {
  const n = fieldErrors.length;
  const listed = n > MAX_FIELD_ERRORS ? ` (the first ${MAX_FIELD_ERRORS} are listed)` : '';
  return new ApiError('VALIDATION_FAILED', `${n} field${n === 1 ? '' : 's'} of the ${part} failed validation${listed}.`, {
    extra: { errors: fieldErrors.slice(0, MAX_FIELD_ERRORS) },
  });
}

/**
 * Maps anything thrown while serving a request onto an {@link ApiError}. Unknown errors become
 * INTERNAL with a detail that carries no internals; the caller logs the original.
 */
export function toApiError(error: unknown, requestId = ''): ApiError {
  if (error instanceof ApiError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;

  if (Array.isArray(e.validation)) {
    const part = (REQUEST_PARTS.has(e.validationContext ?? '') ? e.validationContext : 'body') as RequestPart;
    return validationFailed(part, toFieldErrors(part, e.validation));
  }
  if (typeof e.code === 'string' && e.code in FASTIFY_CODES) return FASTIFY_CODES[e.code]();

  if (isDatabaseUnavailable(error)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unreachable or overloaded; retry shortly.', {
      headers: { 'retry-after': '2' },
      cause: error,
    });
  }
  const constraint = constraintViolation(error);
  if (constraint) {
    const what = constraint.constraint ? `constraint ${constraint.constraint}` : 'a database constraint';
    return new ApiError('CONFLICT_CONSTRAINT', `The write was refused by ${what}${constraint.detail ? `: ${constraint.detail}` : '.'}`, {
      extra: { constraint: constraint.constraint ?? null },
      cause: error,
    });
  }

  if (e.code === CLAIM_TAKEN_OVER) {
    return new ApiError('IDEMPOTENCY_KEY_IN_USE', "A retry with this Idempotency-Key took it over while this request was still running; this one applied nothing, and the retry's answer stands.", {
      headers: { 'retry-after': '1' },
      cause: error,
    });
  }

  const invalidValue = dataException(error);
  if (invalidValue) {
    return new ApiError('BAD_REQUEST', `The database cannot store or compare a value of this request (SQLSTATE ${invalidValue}).`, { cause: error });
  }

  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 503) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.', { cause: error });
  }
  if (status >= 400 && status < 500) {
    return new ApiError(CODE_FOR_STATUS[status] ?? 'BAD_REQUEST', typeof e.message === 'string' ? e.message : 'Bad request.', { cause: error });
  }
  const ref = requestId ? ` Quote request id ${requestId} when reporting it.` : '';
  return new ApiError('INTERNAL', `An unexpected error occurred; it has been logged.${ref}`, { cause: error });
}

/** Logs `error` at a level fitting its outcome: bugs with their stack, client errors briefly. */
function logError(request: FastifyRequest, original: unknown, mapped: ApiError): void {
  if (mapped.code === 'INTERNAL') {
    request.log.error({ err: original }, 'unhandled error');
  } else if (mapped.status >= 500 || dataException(original)) {
    // A data exception is the request's fault, but it means a value got past validation: worth a look.
    request.log.warn({ err: original, code: mapped.code }, mapped.detail);
  } else {
    request.log.info({ code: mapped.code, status: mapped.status }, mapped.detail);
  }
}

/** Renders any error as problem+json; also the `frameworkErrors` option of fastify. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = toApiError(error, String(request.id));
  logError(request, error, mapped);
  return sendProblem(request, reply, mapped);
}

/**
 * Installs the error handler and the not-found handler. An unknown path is 404 NOT_FOUND; a
 * known path with another method is 405 METHOD_NOT_ALLOWED with an `Allow` header.
 */
export function installErrorHandling(app: FastifyInstance, allowedMethods: AllowedMethods): void {
  app.setErrorHandler((error, request, reply) => handleError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url);
    if (allowed.length > 0) {
      const error = new ApiError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}.`, {
        headers: { allow: allowed.join(', ') },
      });
      return sendProblem(request, reply, error);
    }
    const path = request.url.split('?', 1)[0];
    return sendProblem(request, reply, new ApiError('NOT_FOUND', `No route ${request.method} ${path}.`));
  });
}
