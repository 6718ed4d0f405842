import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../cli/api-client.ts';
import { requestWithRetry, type RetryPolicy } from './retrying-request.ts';

const fast: RetryPolicy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

/** A client that answers with the given statuses in turn; `'lost'` drops the connection. */
function scripted(answers: Array<number | 'lost'>, retryAfter?: string) {
  const seen: string[] = [];
  const api: ApiClient = {
    async request<T>(method: string, path: string, _body?: unknown, headers?: Record<string, string>) {
      seen.push(`${method} ${path}${headers ? ` ${JSON.stringify(headers)}` : ''}`);
      const next = answers.shift() ?? 500;
      if (next === 'lost') throw new TypeError('fetch failed');
      return { status: next, body: { status: next } as T, headers: new Headers(retryAfter ? { 'retry-after': retryAfter } : {}) };
    },
  };
  return { api, seen };
}

describe('requestWithRetry', () => {
  it('retries 503 and 429 with backoff until the server accepts', async () => {
    const { api, seen } = scripted([503, 429, 201], '0');
    const res = await requestWithRetry(api, 'POST', '/v1/sites', {}, { policy: fast });
    expect(res.status).toBe(201);
    expect(seen).toHaveLength(3);
    expect(res.maybeApplied).toBe(false);
  });

  it('sends the given headers with every attempt', async () => {
    const { api, seen } = scripted([503, 201], '0');
    await requestWithRetry(api, 'POST', '/v1/sites/x/changesets', {}, { policy: fast, headers: { prefer: 'return=minimal' } });
    expect(seen).toEqual(Array(2).fill('POST /v1/sites/x/changesets {"prefer":"return=minimal"}'));
  });

  it('returns a refusal at once, without retrying it', async () => {
    const { api, seen } = scripted([409, 201]);
    expect((await requestWithRetry(api, 'POST', '/v1/sites', {}, { policy: fast })).status).toBe(409);
    expect(seen).toHaveLength(1);
  });

  it('retries a lost connection and says the lost attempt may have been applied', async () => {
    const { api } = scripted(['lost', 422]);
    const res = await requestWithRetry(api, 'POST', '/v1/sites/x/changesets', {}, { policy: fast });
    expect(res).toMatchObject({ status: 422, maybeApplied: true });
  });

  it('gives up after the last attempt with the last answer, or the transport error', async () => {
    expect((await requestWithRetry(scripted([503, 503, 503, 503, 201]).api, 'GET', '/v1/sites', undefined, { policy: fast })).status).toBe(503);
    await expect(requestWithRetry(scripted(['lost', 'lost', 'lost', 'lost']).api, 'GET', '/v1/sites', undefined, { policy: fast })).rejects.toThrow(/fetch failed \(after 4 attempts\)/);
  });
});
