/**
 * The operations of `/openapi.json` and a valid request for each (real ids, a current ETag, a
 * body that would pass): what test/chaos/hostile-input.ts breaks, and test/chaos/access.chaos.ts sends as every caller.
 */
import { randomUUID } from 'node:crypto';
import type { Method } from './recorder.ts';

/** The deterministic draws of one generator. */
export interface Draw {
  (): number;
}

/** An operation of the OpenAPI document. */
export interface OpenApiOperation {
  key: string;
  method: Method;
  path: string;
  params: Array<{ name: string; in: 'path' | 'query'; schema: JsonSchema; required?: boolean }>;
  body?: JsonSchema;
}

export type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
};

/** A request before it is sent. */
export interface HostileRequest {
  op: string;
  method: Method;
  /** Path with its parameters filled (and maybe broken), without the query. */
  path: string;
  query: Array<[string, string]>;
  body?: unknown;
  /** Sent verbatim instead of `body`. */
  raw?: string | Buffer;
  headers: Record<string, string>;
  /** `null`: no Authorization header; a string: this bearer token instead of the operator's. */
  token?: string | null;
  /** The mutations applied, by name. */
  mutations: string[];
  mustRefuse: boolean;
}

/** Ids and ETags of real resources, for valid starting points. */
export interface HostileFixture {
  orgId: string;
  orgEtag: string;
  siteId: string;
  siteEtag: string;
  meterId: string;
  meterEtag: string;
  meterConfig: Record<string, unknown>;
  gatewayId: string;
  cableId: string;
  cableEtag: string;
  changesetId: string;
  deviceId: string;
  deviceEtag: string;
  stockDeviceId: string;
  deploymentId: string;
  userId: string;
  userEtag: string;
  tokenId: string;
  tokenEtag: string;
  /** A cursor issued by the audit list (valid there, foreign elsewhere). */
  auditCursor: string;
}

export function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: OpenApiOperation['params']; requestBody?: { content?: Record<string, { schema: JsonSchema }> } }>> }): OpenApiOperation[] {
  const ops: OpenApiOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      ops.push({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase() as Method, path, params: op.parameters ?? [], body: op.requestBody?.content?.['application/json']?.schema });
    }
  }
  return ops;
}

const site = { code: 'HOSTILE-NEW', name: 'Hostile', timezone: 'Europe/Berlin', network: { subnet: '10.50.0.0/24', router: '10.50.0.1' } };

/** A request that would pass (or is a read), per operation; ids from the fixture. */
export function validBody(op: string, f: HostileFixture): unknown {
  const bodies: Record<string, unknown> = {
    'POST /v1/auth/login': { email: 'admin@rema.local', password: 'not the password, long enough' },
    'POST /v1/auth/refresh': { refreshToken: `rema_rt_${'x'.repeat(43)}` },
    'POST /v1/auth/introspect': { token: 'rema_unknown' },
    'POST /v1/auth/service-token': { service: 'config', secret: 'wrong secret' },
    'POST /v1/orgs': { name: 'Hostile org' },
    'PATCH /v1/orgs/{id}': { name: 'Renamed org' },
    'POST /v1/users': { email: `hostile-${randomUUID().slice(0, 8)}@example.com`, name: 'Hostile user', roles: [{ role: 'viewer' }] },
    'PATCH /v1/users/{id}': { name: 'Renamed user' },
    'PUT /v1/users/{id}/roles': { items: [{ role: 'viewer' }] },
    'POST /v1/tokens': { name: 'hostile token' },
    'POST /v1/sites': site,
    'PATCH /v1/sites/{id}': { name: 'Renamed site' },
    'POST /v1/assets': { siteId: f.siteId, kind: 'meter', modelId: 'voltis-em-340', name: 'M-hostile', parentId: f.gatewayId, port: 'rs485-1', config: { ...f.meterConfig, unitId: 99 } },
    'PATCH /v1/assets/{id}': { name: 'M-renamed' },
    'PUT /v1/assets/{id}/config': { ...f.meterConfig, pollIntervalMs: 20000 },
    'POST /v1/connections': { siteId: f.siteId, a: { assetId: f.gatewayId, port: 'rs485-2' }, b: { assetId: f.meterId, port: 'com' }, label: 'K-hostile', lengthM: 10 },
    'PATCH /v1/connections/{id}': { label: 'relabelled' },
    'POST /v1/sites/{siteId}/changesets': { operations: [{ op: 'updateAsset', id: f.meterId, expectedVersion: Number(/-v(\d+)"$/.exec(f.meterEtag)?.[1]), patch: { name: 'M-cs' } }], comment: 'hostile' },
    'PUT /v1/internal/assets/{id}/deployed': { configVersion: 1 },
    'POST /v1/internal/deployed': { items: [{ assetId: f.meterId, configVersion: 1 }] },
    'POST /v1/deployments': { siteId: f.siteId, assetIds: [f.meterId], batchSize: 1, timeoutMs: 1000 },
    'POST /v1/deployments/{id}/cancel': { reason: 'hostile' },
    'POST /v1/devices': { serial: `HOSTILE-${randomUUID().slice(0, 8)}`, modelId: 'voltis-em-340', firmware: '1.0.0' },
    'PATCH /v1/devices/{id}': { firmware: '1.3.0' },
    'POST /v1/devices/{id}/transitions': { transition: 'report_fault', comment: 'hostile' },
    'POST /v1/devices/{id}/replace': { newDeviceId: f.stockDeviceId },
  };
  return bodies[op];
}

/** The ETag a write to `path` must send. */
function ifMatchOf(path: string, f: HostileFixture): string | undefined {
  if (path.startsWith('/v1/assets/')) return f.meterEtag;
  if (path.startsWith('/v1/connections/')) return f.cableEtag;
  if (path.startsWith('/v1/sites/')) return f.siteEtag;
  if (path.startsWith('/v1/devices/')) return f.deviceEtag;
  if (path.startsWith('/v1/users/')) return f.userEtag;
  if (path.startsWith('/v1/tokens/')) return f.tokenEtag;
  if (path.startsWith('/v1/orgs/')) return f.orgEtag;
  return undefined;
}

/** A real id for path parameter `name` of `path`. */
export function idFor(path: string, name: string, f: HostileFixture): string {
  if (name === 'version') return '1';
  if (name === 'siteId') return f.siteId;
  const base = path.split('/')[2];
  const ids: Record<string, string> = {
    sites: f.siteId,
    assets: f.meterId,
    connections: f.cableId,
    changesets: f.changesetId,
    devices: f.deviceId,
    deployments: f.deploymentId,
    users: f.userId,
    tokens: f.tokenId,
    orgs: f.orgId,
    models: 'voltis-em-340',
    internal: f.meterId,
  };
  return ids[base] ?? f.siteId;
}

const QUERY_VALUES: Record<string, (f: HostileFixture) => string> = {
  limit: () => '5',
  siteId: (f) => f.siteId,
  assetId: (f) => f.meterId,
  entityId: (f) => f.meterId,
  orgId: (f) => f.orgId,
  from: () => '2020-01-01T00:00:00Z',
  to: () => '2999-01-01T00:00:00Z',
  dryRun: () => 'true',
  driftOnly: () => 'true',
  format: () => 'json',
};

/** A request that would pass; with `r`, optional query parameters are added now and then. */
export function validRequest(op: OpenApiOperation, f: HostileFixture, r?: Draw): HostileRequest {
  let path = op.path;
  for (const p of op.params.filter((x) => x.in === 'path')) path = path.replace(`{${p.name}}`, idFor(op.path, p.name, f));
  const query: Array<[string, string]> = [];
  for (const p of op.params.filter((x) => x.in === 'query')) {
    const value = op.path.endsWith('/diff') && (p.name === 'from' || p.name === 'to') ? '1' : QUERY_VALUES[p.name]?.(f);
    if (value !== undefined && (p.required || (r !== undefined && r() < 0.3))) query.push([p.name, value]);
  }
  const headers: Record<string, string> = {};
  if (op.method === 'PUT' || op.method === 'PATCH' || op.method === 'DELETE' || /^POST \/v1\/devices\/\{id\}\/(transitions|replace)$/.test(op.key)) {
    const tag = ifMatchOf(path, f);
    if (tag) headers['if-match'] = tag;
  }
  return { op: op.key, method: op.method, path, query, body: op.body ? (validBody(op.key, f) ?? sample(op.body)) : undefined, headers, mutations: [], mustRefuse: false };
}

/** A minimal instance of `schema`: required properties only, the first alternative of a union. */
export function sample(schema: JsonSchema): unknown {
  if (schema.anyOf) return sample(schema.anyOf[0]);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((k) => [k, sample(schema.properties?.[k] ?? {})]));
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'string':
      return schema.format === 'uuid' ? randomUUID() : 'x';
    default:
      return null;
  }
}
