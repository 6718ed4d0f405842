/**
 * How a service in another process gets its service JWT: it trades the shared secret
 * (`REMA_SERVICE_SECRET`) at `POST /v1/auth/service-token` and reuses the token until a minute
 * before it expires.
 */
export interface ServiceTokenClientOptions {
  adminUrl: string;
  /** The calling service's name, e.g. `lifecycle`; it becomes the principal's id. */
  service: string;
  secret: string;
  fetch?: typeof fetch;
}

/**
 * A function that resolves to a valid service JWT, fetching a new one when needed (one
 * request in flight at a time).
 *
 * @example
 * const token = serviceTokenClient({ adminUrl, service: 'lifecycle', secret: process.env.REMA_SERVICE_SECRET! });
 * await fetch(url, { headers: { authorization: `Bearer ${await token()}` } });
 */
export function serviceTokenClient(opts: ServiceTokenClientOptions): () => Promise<string> {
  const doFetch = opts.fetch ?? fetch;
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function obtain(): Promise<string> {
    const res = await doFetch(new URL('/v1/auth/service-token', opts.adminUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: opts.service, secret: opts.secret }),
    });
    if (!res.ok) throw new Error(`service token for ${opts.service}: admin answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const body = (await res.json()) as { accessToken: string; expiresIn: number };
    current = { token: body.accessToken, renewAt: Date.now() + Math.max(body.expiresIn - 60, body.expiresIn / 2) * 1000 };
    return body.accessToken;
  }

  return async () => {
    if (current && Date.now() < current.renewAt) return current.token;
    pending ??= obtain().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
