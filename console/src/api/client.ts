/**
 * The one way the console talks to rema: openapi-fetch over the generated `paths`, so every
 * path, parameter and body is checked against the server's OpenAPI document at compile time.
 * A middleware adds the session's bearer token and, when an access token has expired, trades
 * the refresh token once and retries the request.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import type { Problem } from './types.ts';
import { session } from '../auth/session.ts';

export const api = createClient<paths>({ baseUrl: typeof window === 'undefined' ? '' : window.location.origin });

/** A failed API call: the HTTP status, the problem document and the ETag headers it carried. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly etag: string | null;
  constructor(status: number, problem: Problem, etag: string | null) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.etag = etag;
  }
  get code(): string {
    return this.problem.code;
  }
}

/** Turns anything thrown by a call (network failure included) into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ApiError(0, { type: 'about:blank', title: 'Network error', status: 0, code: 'NETWORK', detail } as unknown as Problem, null);
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call and returns its data, or throws an {@link ApiError}. */
export async function call<T>(pending: Promise<Result<T>>): Promise<T> {
  return (await callWithResponse(pending)).data;
}

/** Like {@link call}, also handing back the response (for its ETag). */
export async function callWithResponse<T>(pending: Promise<Result<T>>): Promise<{ data: T; response: Response }> {
  let result: Result<T>;
  try {
    result = await pending;
  } catch (err) {
    throw toApiError(err);
  }
  const { data, error, response } = result;
  if (!response.ok) {
    const problem = (typeof error === 'object' && error !== null ? error : { title: response.statusText, status: response.status, code: `HTTP_${response.status}` }) as Problem;
    const current = (problem as { currentEtag?: string }).currentEtag ?? response.headers.get('etag');
    throw new ApiError(response.status, problem, current ?? null);
  }
  return { data: data as T, response };
}

const retries = new Map<string, Request>();

const auth: Middleware = {
  onRequest({ request, id }) {
    const token = session.accessToken();
    if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`);
    if (session.canRefresh() && !request.url.includes('/v1/auth/')) retries.set(id, request.clone());
    return request;
  },
  async onResponse({ request, response, id }) {
    const retry = retries.get(id);
    retries.delete(id);
    if (response.status !== 401 || request.url.includes('/v1/auth/login')) return response;
    if (retry && (await session.refresh())) {
      retry.headers.set('authorization', `Bearer ${session.accessToken()}`);
      const again = await fetch(retry);
      if (again.status !== 401) return again;
    }
    // The token is dead (expired, revoked, user disabled): back to the sign-in page.
    session.signOut('Your session has ended (it expired, or your access was revoked). Sign in again.');
    return response;
  },
};
api.use(auth);

/** Fetches a non-JSON representation (exports) with the session's token. */
export async function fetchText(url: string, accept: string): Promise<string> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${session.accessToken()}`, accept } });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({ title: res.statusText, status: res.status, code: `HTTP_${res.status}` }))) as Problem;
    throw new ApiError(res.status, problem, null);
  }
  return res.text();
}
