/**
 * problem+json in words a person can act on: what happened and what to do next, per stable
 * error code (docs/errors.md), plus the details the server listed.
 */
import type { ApiError } from './client.ts';

const ADVICE: Record<string, { what: string; todo: string }> = {
  NETWORK: { what: 'rema could not be reached.', todo: 'Check your network connection and that the server is running, then try again.' },
  BAD_REQUEST: { what: 'The request was malformed.', todo: 'Reload the page and try again; if it persists, report it with the request id.' },
  INVALID_JSON: { what: 'The JSON you entered is not valid.', todo: 'Fix the syntax (quotes, commas, brackets) and try again.' },
  INVALID_CURSOR: { what: 'This list page is out of date.', todo: 'Reload the list from its first page.' },
  INVALID_FILTER: { what: 'A filter value is not valid.', todo: 'Check the dates and ids in the filters.' },
  UNAUTHENTICATED: { what: 'You are not signed in, or your session expired.', todo: 'Sign in again.' },
  INVALID_CREDENTIALS: { what: 'Wrong email or password.', todo: 'Check both and try again; after 5 failures in a row the account is locked for 15 minutes.' },
  ACCOUNT_LOCKED: { what: 'This account is locked after too many failed sign-ins.', todo: 'Wait until the lock ends (see below), or ask an administrator to reset your password.' },
  FORBIDDEN: { what: 'Your role does not allow this here.', todo: 'Ask an administrator for a role binding that allows it.' },
  NOT_FOUND: { what: 'It does not exist, or you cannot see it.', todo: 'Check the link; it may have been deleted, or you may lack a role on its site.' },
  CONFLICT_RULES: { what: 'The change would break validation rules, so nothing was saved.', todo: 'Fix every violation listed (or the assets it conflicts with) and try again.' },
  CONFLICT_CONSTRAINT: { what: 'Someone else changed the same data at the same moment.', todo: 'Reload and apply your change again.' },
  LAST_ADMIN: { what: 'This would leave the organisation without an administrator.', todo: 'Grant admin to another user first.' },
  PRECONDITION_FAILED: { what: 'Someone changed this since you opened it.', todo: 'Reload to see their change, or re-apply your edits on top of it.' },
  PRECONDITION_REQUIRED: { what: 'The change was sent without a version.', todo: 'Reload and try again.' },
  PAYLOAD_TOO_LARGE: { what: 'The change is too large to send at once.', todo: 'Split it into smaller change sets.' },
  VALIDATION_FAILED: { what: 'Some fields are not valid.', todo: 'Fix the fields listed and try again.' },
  IDEMPOTENCY_KEY_REUSED: { what: 'This request was already sent with other content.', todo: 'Reload and try again.' },
  RATE_LIMITED: { what: 'Too many requests in a short time.', todo: 'Wait a moment and try again.' },
  SERVICE_UNAVAILABLE: { what: 'A part of rema is temporarily unavailable (database or MQTT broker).', todo: 'Wait a few seconds and try again.' },
  INTERNAL: { what: 'rema hit an unexpected error.', todo: 'Try again; if it persists, report it with the request id below.' },
};

export interface ProblemText {
  headline: string;
  todo: string;
  detail: string | null;
  fields: Array<{ path: string; message: string }>;
  requestId: string | null;
}

export function problemText(err: ApiError): ProblemText {
  const p = err.problem as ApiError['problem'] & { errors?: Array<{ path: string; message: string }>; requestId?: string };
  const advice = ADVICE[p.code] ?? { what: p.title ?? `The request failed (HTTP ${err.status}).`, todo: 'Try again.' };
  return {
    headline: advice.what,
    todo: advice.todo,
    detail: p.detail && p.detail !== advice.what ? p.detail : null,
    fields: (p.errors ?? []).map((e) => ({ path: e.path, message: e.message })),
    requestId: p.requestId ?? null,
  };
}
