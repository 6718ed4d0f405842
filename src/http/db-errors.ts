/**
 * Classifies errors that escape from the database driver (`pg`) so the error handler can
 * answer 503 for an unreachable database and 409 for a refusing constraint, never 500.
 * Duck-typed on `code`/`message` so this layer does not import the driver.
 */

/** Node socket error codes that mean "the database is not reachable right now". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs after which a retry soon may succeed: shutdown/starting up (57P0x), statement
 * cancelled (57014), too many connections (53300), serialization failure and deadlock
 * (40001, 40P01) that outlived the write path's retries.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01']);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
];

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * True when `error` says the database is unreachable or temporarily refusing work: socket
 * errors (also inside an `AggregateError` from a multi-address connect), SQLSTATE class 08
 * (connection exception), shutdown/overload codes and pg's "Connection terminated" family.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true;
  if (error instanceof Error) {
    if (UNAVAILABLE_MESSAGES.some((m) => error.message.startsWith(m))) return true;
    if (error.cause !== undefined && error.cause !== error) return isDatabaseUnavailable(error.cause);
  }
  return false;
}

/** What a constraint violation tells the client (pg's `constraint`, `detail`, `table`). */
export interface ConstraintFacts {
  sqlState: string;
  constraint?: string;
  table?: string;
  detail?: string;
}

/** Check and not-null violations: their detail is the whole failing row ("Failing row contains (…)"). */
const ROW_DETAIL = new Set(['23514', '23502']);

/**
 * The facts of an integrity constraint violation (SQLSTATE class 23: unique, foreign key,
 * check, not null, exclusion), or undefined when `error` is not one. The detail of a check or
 * not-null violation is left out: it lists every column of the row, values the server made
 * (ids, hashes, times) among them, where the others name only the key that conflicted.
 */
export function constraintViolation(error: unknown): ConstraintFacts | undefined {
  const code = codeOf(error);
  if (code === undefined || !/^23[0-9A-Z]{3}$/.test(code)) return undefined;
  const e = error as { constraint?: unknown; table?: unknown; detail?: unknown };
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { sqlState: code, constraint: text(e.constraint), table: text(e.table), detail: ROW_DETAIL.has(code) ? undefined : text(e.detail) };
}

/**
 * The SQLSTATE of a data exception (class 22: a value the database cannot store or compare —
 * text with NUL, an out-of-range number, a malformed uuid or date cast in a query), or
 * undefined. Such a value came with the request and slipped past its validation: the request
 * is at fault, not the server.
 */
export function dataException(error: unknown): string | undefined {
  const code = codeOf(error);
  return code !== undefined && /^22[0-9A-Z]{3}$/.test(code) ? code : undefined;
}
