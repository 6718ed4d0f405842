import { Pool } from 'undici';

export interface HttpResult<T = unknown> {
  status: number;
  etag: string | undefined;
  body: T;
}

/**
 * A keep-alive HTTP client to rema (undici Pool) with the bench's bearer token: one
 * connection per concurrent client, as a fleet of API clients would hold.
 */
export class Api {
  private readonly pool: Pool;
  constructor(
    readonly url: string,
    private readonly token: string,
    connections: number,
  ) {
    this.pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  async request<T = unknown>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const res = await this.pool.request({
      method,
      path,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const etag = res.headers.etag;
    return { status: res.statusCode, etag: Array.isArray(etag) ? etag[0] : etag, body: (text ? JSON.parse(text) : null) as T };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
