import { ON_BEHALF_OF_HEADER } from '../auth/install-auth.ts';
import type { AssetViewData, ConnectionViewData, SiteViewData } from '../core/changes/views.ts';

/** The configuration service as the lifecycle service sees it: its HTTP API, nothing else. */
export interface ConfigClient {
  getAsset(id: string): Promise<{ asset: AssetViewData; etag: string } | undefined>;
  getSite(id: string): Promise<SiteViewData | undefined>;
  getSiteGraph(siteId: string): Promise<{ site: SiteViewData; assets: AssetViewData[]; connections: ConnectionViewData[] } | undefined>;
  /**
   * Records the configuration version a device acknowledged (through the config write path),
   * on behalf of the user who asked for the deployment when there is one.
   */
  markDeployed(assetId: string, configVersion: number | null, requestId?: string, onBehalfOf?: { id: string; name: string }): Promise<void>;
  /**
   * Records many acknowledged versions in one call (`POST /v1/internal/deployed`: one change set
   * per site on the config write path). Resolves with one entry per item, in order: null when
   * recorded, else the refusal its own {@link ConfigClient.markDeployed} would have thrown.
   * Throws a {@link ConfigServiceError} when the call as a whole fails (outage, 5xx, 401/403).
   */
  markDeployedMany?(items: DeployedVersion[]): Promise<Array<ConfigServiceError | null>>;
  /** Sets the firmware the asset's device runs (a PATCH through the config write path). */
  setFirmware(assetId: string, firmware: string | null, requestId?: string, onBehalfOf?: { id: string; name: string }): Promise<void>;
}

/** One acknowledged version to record, with the request id and user its audit event carries. */
export interface DeployedVersion {
  assetId: string;
  configVersion: number | null;
  requestId?: string;
  onBehalfOf?: { id: string; name: string };
}

/** How a request reaches the configuration service: `fetch` to a URL, or in-process `inject`. */
export type Transport = (req: { method: string; url: string; headers: Record<string, string>; body?: unknown }) => Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }>;

export class ConfigServiceError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(`configuration service answered ${status}: ${JSON.stringify(problem)}`);
  }
}

/**
 * A ConfigClient over HTTP. `token` authenticates the lifecycle service to the configuration
 * service (a service JWT: in one process from the admin service directly, apart from
 * `serviceTokenClient`); `requestId` carries the original request's id into the audit events
 * written there.
 */
export function httpConfigClient(transport: Transport, token: () => string | Promise<string>): ConfigClient {
  const call = async (method: string, url: string, body?: unknown, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${await token()}`, ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return transport({ method, url, headers, body });
  };
  const ok = <T>(res: { status: number; body: unknown }): T | undefined => {
    if (res.status === 404) return undefined;
    if (res.status >= 300) throw new ConfigServiceError(res.status, res.body);
    return res.body as T;
  };
  const rid = (requestId?: string): Record<string, string> => (requestId ? { 'x-request-id': requestId } : {});

  return {
    async getAsset(id) {
      const res = await call('GET', `/v1/assets/${id}`);
      const asset = ok<AssetViewData>(res);
      return asset && { asset, etag: String(res.headers.etag ?? '') };
    },
    async getSite(id) {
      return ok<SiteViewData>(await call('GET', `/v1/sites/${id}`));
    },
    async getSiteGraph(siteId) {
      return ok(await call('GET', `/v1/sites/${siteId}/graph`));
    },
    async markDeployed(assetId, configVersion, requestId, onBehalfOf) {
      const behalf: Record<string, string> = onBehalfOf ? { [ON_BEHALF_OF_HEADER]: JSON.stringify({ id: onBehalfOf.id, name: onBehalfOf.name }) } : {};
      const res = await call('PUT', `/v1/internal/assets/${assetId}/deployed`, { configVersion }, { ...rid(requestId), ...behalf });
      if (res.status >= 300) throw new ConfigServiceError(res.status, res.body);
    },
    async markDeployedMany(items) {
      const res = await call('POST', '/v1/internal/deployed', { items });
      if (res.status !== 200) throw new ConfigServiceError(res.status, res.body);
      const { results } = res.body as { results: Array<{ status: number; problem?: unknown }> };
      return results.map((r) => (r.status === 200 ? null : new ConfigServiceError(r.status, r.problem ?? null)));
    },
    async setFirmware(assetId, firmware, requestId, onBehalfOf) {
      const behalf: Record<string, string> = onBehalfOf ? { [ON_BEHALF_OF_HEADER]: JSON.stringify({ id: onBehalfOf.id, name: onBehalfOf.name }) } : {};
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await this.getAsset(assetId);
        if (!current) throw new ConfigServiceError(404, { detail: `asset ${assetId} not found` });
        if (current.asset.firmware === firmware) return;
        const res = await call('PATCH', `/v1/assets/${assetId}`, { firmware }, { 'if-match': current.etag, ...rid(requestId), ...behalf });
        if (res.status === 412) continue; // changed meanwhile: read again and retry
        if (res.status >= 300) throw new ConfigServiceError(res.status, res.body);
        return;
      }
      throw new ConfigServiceError(412, { detail: `asset ${assetId} kept changing; firmware not recorded` });
    },
  };
}

/** A transport into a fastify app in the same process (no socket). */
export function injectTransport(app: { inject: (opts: { method: string; url: string; headers: Record<string, string>; payload?: string }) => Promise<{ statusCode: number; body: string; headers: Record<string, string | string[] | number | undefined> }> }): Transport {
  return async ({ method, url, headers, body }) => {
    const res = await app.inject({ method, url, headers, payload: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null, headers: res.headers as Record<string, string | string[] | undefined> };
  };
}

/** A transport to a service at `baseUrl` (e.g. `REMA_CONFIG_URL`); `url` is a path such as `/v1/assets/…`. */
export function fetchTransport(baseUrl: string, opts: { timeoutMs?: number } = {}): Transport {
  return async ({ method, url, headers, body }) => {
    const res = await fetch(new URL(url, baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // A hung peer must not hold a deployment step or a device write forever.
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: Object.fromEntries(res.headers.entries()) };
  };
}
