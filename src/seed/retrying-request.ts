import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../cli/api-client.ts';

/** Statuses that mean "not now" rather than "no": overload, rate limits, a proxy in between. */
const RETRYABLE = new Set([429, 502, 503, 504]);

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff; doubled per attempt, with full jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A server asking for a longer pause than this is treated as asking for this long. */
const MAX_RETRY_AFTER_MS = 30_000;

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 200, maxDelayMs: 5000 };

export interface ApiResponse<T> {
  status: number;
  body: T;
  /** Time the final attempt took, in ms. */
  ms: number;
  /**
   * True when an earlier attempt was lost in transport: the server may have applied it, so a
   * refusal of this attempt may only mean "already done".
   */
  maybeApplied: boolean;
}

/**
 * Sends a request, retrying 429/502/503/504 and lost connections with exponential backoff
 * (honouring `Retry-After`). Every other answer, success or refusal, is returned as is.
 */
export async function requestWithRetry<T>(
  api: ApiClient,
  method: string,
  path: string,
  body?: unknown,
  { policy = DEFAULT_RETRY, headers }: { policy?: RetryPolicy; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  let maybeApplied = false;
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    let wait: number | undefined;
    try {
      const res = await api.request<T>(method, path, body, headers);
      if (!RETRYABLE.has(res.status) || attempt >= policy.attempts) {
        return { status: res.status, body: res.body, ms: performance.now() - started, maybeApplied };
      }
      wait = retryAfterMs(res.headers.get('retry-after'));
    } catch (err) {
      // fetch rejects on a refused or reset connection (and a non-JSON body from a proxy).
      if (attempt >= policy.attempts) throw new Error(`${method} ${path}: ${(err as Error).message} (after ${attempt} attempts)`, { cause: err });
      maybeApplied = maybeApplied || method !== 'GET';
    }
    const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    await sleep(wait === undefined ? Math.random() * backoff : Math.min(wait, MAX_RETRY_AFTER_MS));
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
