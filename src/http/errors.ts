/**
 * The one registry of every error the API can return. Each code is stable: clients branch on
 * it, `docs/errors.md` documents it and the OpenAPI `Problem` schema enumerates it (a test
 * checks that the three agree). Add a code here, in the docs table, and nowhere else.
 */
import type { Violation } from '../core/rules/types.ts';

/** Status and human title of one registered error. */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const errors = {
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  INVALID_JSON: { status: 400, title: 'Malformed JSON body' },
  JSON_TOO_DEEP: { status: 400, title: 'JSON body nested too deeply' },
  INVALID_ETAG: { status: 400, title: 'Malformed If-Match header' },
  INVALID_CURSOR: { status: 400, title: 'Invalid pagination cursor' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Wrong email or password' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  CONFLICT_RULES: { status: 409, title: 'Change violates validation rules' },
  CONFLICT_CONSTRAINT: { status: 409, title: 'Change refused by a database constraint' },
  LAST_ADMIN: { status: 409, title: 'Change would leave the organisation without an administrator' },
  PRECONDITION_FAILED: { status: 412, title: 'Resource version is stale' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  VALIDATION_FAILED: { status: 422, title: 'Request validation failed' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'Idempotency key in use by a running request' },
  IDEMPOTENCY_KEY_COMMITTED: { status: 409, title: 'Idempotency key of a request already applied' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused with another request' },
  ACCOUNT_LOCKED: { status: 423, title: 'Account temporarily locked' },
  PRECONDITION_REQUIRED: { status: 428, title: 'If-Match header required' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service temporarily unavailable' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errors;

/** Every registered code, in registry order. */
export const errorCodes = Object.keys(errors) as ErrorCode[];

/** Where a request field lives; `path` of a {@link FieldError} is a JSON Pointer inside it. */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

/** One failing field of a 422 VALIDATION_FAILED. */
export interface FieldError {
  in: RequestPart;
  /** JSON Pointer (RFC 6901) into the request part, `''` for the part itself. */
  path: string;
  message: string;
}

/** Extension members a problem body may carry besides the standard ones. */
export interface ProblemExtra {
  /** VALIDATION_FAILED: every failing field. */
  errors?: FieldError[];
  /** CONFLICT_RULES: every violation (errors block, warnings ride along). */
  violations?: Violation[];
  /** PRECONDITION_FAILED: the ETag the resource has now. */
  currentEtag?: string;
  [member: string]: unknown;
}

export interface ApiErrorOptions {
  extra?: ProblemExtra;
  /** Response headers to set with the problem, e.g. `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error the API reports on purpose; the error handler renders it as problem+json. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: ProblemExtra;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail: string, options: ApiErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = errors[code].status;
    this.title = errors[code].title;
    this.detail = detail;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

/**
 * Builds an {@link ApiError} to throw from a handler.
 *
 * @example
 * throw apiError('NOT_FOUND', `No asset ${id} in site ${siteId}.`);
 * throw apiError('CONFLICT_RULES', 'The change breaks 2 rules.', { violations });
 */
export function apiError(code: ErrorCode, detail: string, extra?: ProblemExtra): ApiError {
  return new ApiError(code, detail, { extra });
}

/** True for an {@link ApiError}. */
export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}
