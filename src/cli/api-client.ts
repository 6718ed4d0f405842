import { existsSync, readFileSync } from 'node:fs';

/** A tiny client for the rema API used by the CLI commands. */
export interface ApiClient {
  request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
}

export function apiClient(baseUrl: string, token: string | undefined): ApiClient {
  const bearer = token ?? process.env.REMA_TOKEN ?? readTokenFile();
  if (!bearer) throw new Error('no API token: pass --token, set REMA_TOKEN, or run from the folder where rema serve keeps ./data/api-token');
  return {
    async request(method, path, body, headers = {}) {
      const res = await fetch(new URL(path, baseUrl), {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
  };
}

function readTokenFile(): string | undefined {
  const file = `${process.env.REMA_DATA_DIR ?? './data'}/api-token`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
