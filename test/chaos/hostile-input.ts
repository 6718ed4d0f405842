/**
 * Hostile requests generated over `/openapi.json`: every operation starts from a valid request
 * (real ids, a current ETag, a body that would pass) and is then broken — wrong types, missing
 * and extra fields, huge and deeply nested bodies, unicode and control characters, injection
 * strings, malformed ETags, cursors, ids, content types and tokens.
 *
 * Every write carries at least one mutation that must get it refused (`mustRefuse`), so a run
 * of them may change nothing stored; reads carry any mutations.
 */
import { randomUUID } from 'node:crypto';
import type { Method } from './recorder.ts';

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

// ------------------------------------------------------------------ valid starting points

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
function idFor(path: string, name: string, f: HostileFixture): string {
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

// ------------------------------------------------------------------ what breaks them

/** Strings an attacker tries everywhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  "' OR '1'='1",
  "'; DROP TABLE config.assets; --",
  '") OR 1=1 --',
  '$where: 1',
  '{"$gt": ""}',
  '<script>alert(1)</script>',
  '{{7*7}}${7*7}',
  '${jndi:ldap://127.0.0.1/x}',
  '../../../../etc/passwd',
  '%00',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '\u202eevil',
  '\u200b\u200b',
  '\ufeffbom',
  '😀'.repeat(50),
  'Ω≈ç√∫˜µ≤≥÷',
  '田中さんにあげて下さい',
  'line\nbreak\r\nand\ttab',
  '\u0007\u001b[31mred',
  'null',
  'true',
  '-1',
  'NaN',
  '1e309',
  '__proto__',
  'constructor',
  'x'.repeat(10_000),
];

const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, 99999999999999999999, [], [null], {}, { a: 1 }, '', 'x'];

const BAD_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  "1' OR '1'='1",
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%2500',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%ED%A0%80',
  '%C3%28',
  'x'.repeat(300),
  '-1',
  '1e3',
  'NaN',
  '%20',
  'null',
  'undefined',
  '%7B%7D',
];

const BAD_ETAGS = ['*', 'W/"asset-x-v1"', '"a", "b"', 'garbage', '""', '"asset--v1"', '"asset-x-v-1"', '"asset-x-v1e3"', `"${'x'.repeat(5000)}"`, '"asset-\u00e9-v1"', 'W/*', '"site-00000000-0000-4000-8000-000000000001-v1"'];

const BAD_CURSORS = (f: HostileFixture) => [
  'x',
  '',
  'eyJhdCI6IngiLCJpZCI6InkifQ',
  Buffer.from('{"at":"2020-01-01T00:00:00.000000Z","id":"\' OR 1=1 --"}').toString('base64url'),
  Buffer.from('{"at":"not a date","id":"00000000-0000-0000-0000-000000000000"}').toString('base64url'),
  Buffer.from('[1,2,3]').toString('base64url'),
  Buffer.from('null').toString('base64url'),
  Buffer.from('{"__proto__":{"x":1}}').toString('base64url'),
  '%00',
  'A'.repeat(5000),
  f.auditCursor,
  `${f.auditCursor}x`,
];

const BAD_TOKENS = [
  '',
  'x',
  'rema_',
  `rema_${'A'.repeat(32)}`,
  `rema_${'A'.repeat(5000)}`,
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4Iiwia2luZCI6InNlcnZpY2UifQ.c2ln',
  "' OR 1=1 --",
  '\u00e9\u00e9',
];

const CONTENT_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/javascript', 'json', 'application/jsonp', 'text/json'];

/** The deterministic draws of one generator. */
export interface Draw {
  (): number;
}

const pick = <T>(r: Draw, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function deep(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** Every JSON Pointer-ish path of `value` (objects and arrays), the root included. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (value && typeof value === 'object' && prefix.length < 6) {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

function setAt(root: unknown, path: Array<string | number>, value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

/** The JSON types `schema` allows (`integer` counted as `number`), or undefined when it allows any. */
function typesOf(schema: JsonSchema | undefined): Set<string> | undefined {
  if (!schema) return undefined;
  if (schema.anyOf) {
    const all = schema.anyOf.map(typesOf);
    return all.some((t) => t === undefined) ? undefined : new Set(all.flatMap((t) => [...(t as Set<string>)]));
  }
  if (schema.enum) return new Set(schema.enum.map((v) => (v === null ? 'null' : typeof v)));
  if (!schema.type) return undefined;
  return new Set([schema.type === 'integer' ? 'number' : schema.type]);
}

/** A value whose JSON type `schema` does not allow, or undefined when it allows every type. */
function wrongTypeFor(schema: JsonSchema | undefined): unknown {
  const allowed = typesOf(schema);
  if (!allowed) return undefined;
  const candidates: Array<[string, unknown]> = [['number', 12345], ['string', 'twelve'], ['boolean', true], ['object', { not: 'expected' }], ['array', [1]], ['null', null]];
  return candidates.find(([type]) => !allowed.has(type))?.[1];
}

type Mutation = (req: HostileRequest, r: Draw, f: HostileFixture, op: OpenApiOperation) => boolean;

/** Operations anyone may call: a bad token changes nothing there. */
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /.well-known/jwks.json', 'POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /v1/auth/service-token']);

/** Mutations that must get any request refused; each returns false when it does not apply. */
const MUST_REFUSE: Record<string, Mutation> = {
  'body: invalid JSON': (req, r) => {
    if (req.body === undefined) return false;
    req.raw = pick(r, ['{', '{"a":}', "{'a':1}", '{"a":1}}', 'NaN', '[1,2', '{"a":1,}', '\u0000', '{"a":"\\x41"}', '{"a":01}', 'tru', `${JSON.stringify(req.body)} trailing`]);
    return true;
  },
  'body: nested 100 deep': (req) => {
    if (req.body === undefined) return false;
    req.raw = `{"a":${deep(100)}}`;
    return true;
  },
  'body: __proto__ key': (req) => {
    if (req.body === undefined || typeof req.body !== 'object') return false;
    req.raw = JSON.stringify(req.body).replace(/^\{/, '{"__proto__":{"admin":true},');
    return true;
  },
  'body: wrong top-level type': (req, r, _f, op) => {
    if (req.body === undefined) return false;
    // A cancel's body is optional: a null body is taken as none, on purpose.
    req.body = pick(r, [...(op.key.endsWith('/cancel') ? [] : [null]), [], 'string', 42, true, [req.body]]);
    return true;
  },
  'body: required field missing': (req, r, _f, op) => {
    const required = op.body?.required ?? [];
    if (required.length === 0 || typeof req.body !== 'object' || req.body === null) return false;
    req.body = setAt(req.body, [pick(r, required)], undefined, true);
    return true;
  },
  'body: required field of the wrong type': (req, r, _f, op) => {
    const required = op.body?.required ?? [];
    if (required.length === 0 || typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) return false;
    const k = pick(r, required);
    const wrong = wrongTypeFor(op.body?.properties?.[k]);
    if (wrong === undefined) return false;
    req.body = setAt(req.body, [k], wrong);
    return true;
  },
  'body: unknown field': (req, r, _f, op) => {
    if (op.body?.additionalProperties !== false || typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) return false;
    req.body = { ...req.body, [pick(r, ['isAdmin', 'revision', 'orgId2', 'version', '$where', 'id2', 'x'.repeat(200)])]: pick(r, NASTY_VALUES) };
    return true;
  },
  'content-type: not JSON': (req, r) => {
    if (req.body === undefined) return false;
    req.raw = JSON.stringify(req.body);
    req.headers['content-type'] = pick(r, CONTENT_TYPES);
    return true;
  },
  'path: malformed id': (req, r, f, op) => {
    if (!op.params.some((p) => p.in === 'path' && p.name !== 'version') || op.path.startsWith('/v1/models')) return false;
    const id = idFor(op.path, op.params.find((p) => p.in === 'path')?.name ?? 'id', f);
    req.path = req.path.replace(id, encode(pick(r, BAD_IDS)));
    return true;
  },
  'path: unknown id': (req, _r, f, op) => {
    const p = op.params.find((x) => x.in === 'path' && x.name !== 'version');
    if (!p || op.path.startsWith('/v1/models') || op.path.startsWith('/v1/tokens')) return false;
    req.path = req.path.replace(idFor(op.path, p.name, f), randomUUID());
    return true;
  },
  'if-match: missing': (req) => {
    if (!req.headers['if-match']) return false;
    delete req.headers['if-match'];
    return true;
  },
  'if-match: malformed': (req, r) => {
    if (!req.headers['if-match']) return false;
    req.headers['if-match'] = pick(r, BAD_ETAGS);
    return true;
  },
  'if-match: stale or foreign': (req, r, f) => {
    const tag = req.headers['if-match'];
    if (!tag) return false;
    req.headers['if-match'] = r() < 0.5 ? tag.replace(/-v\d+"$/, '-v999999') : tag === f.siteEtag ? f.meterEtag : f.siteEtag;
    return true;
  },
  'auth: bad token': (req, r, _f, op) => {
    if (PUBLIC.has(op.key)) return false;
    req.token = pick(r, BAD_TOKENS);
    return true;
  },
  'auth: none': (req, _r, _f, op) => {
    if (PUBLIC.has(op.key)) return false;
    req.token = null;
    return true;
  },
  'auth: not bearer': (req, r, _f, op) => {
    if (PUBLIC.has(op.key)) return false;
    req.token = null;
    req.headers.authorization = pick(r, ['Basic YWRtaW46YWRtaW4=', 'Bearer', 'bearer', 'Token x', `Bearer ${'x'.repeat(8000)}`, 'Bearer a b c']);
    return true;
  },
};

/** Mutations that may or may not get a request refused. */
const ANY: Record<string, Mutation> = {
  'body: field → wrong type or nasty value': (req, r) => {
    if (req.body === undefined || req.raw !== undefined) return false;
    const all = paths(req.body).filter((p) => p.length > 0);
    if (all.length === 0) return false;
    req.body = setAt(req.body, pick(r, all), r() < 0.5 ? pick(r, NASTY_VALUES) : pick(r, NASTY_STRINGS));
    return true;
  },
  'body: field removed': (req, r) => {
    if (req.body === undefined || req.raw !== undefined) return false;
    const all = paths(req.body).filter((p) => p.length > 0);
    if (all.length === 0) return false;
    req.body = setAt(req.body, pick(r, all), undefined, true);
    return true;
  },
  'body: huge string': (req, r) => {
    if (req.body === undefined || req.raw !== undefined || typeof req.body !== 'object' || req.body === null) return false;
    const all = paths(req.body).filter((p) => p.length > 0);
    if (all.length === 0) return false;
    // Ending in control characters: what makes a careless pattern backtrack quadratically.
    req.body = setAt(req.body, pick(r, all), 'A'.repeat(pick(r, [1000, 100_000, 600_000])) + pick(r, ['', '\u0007\u0007', ' \u0000', '\n\n']));
    return true;
  },
  'body: huge array': (req, r) => {
    if (req.body === undefined || req.raw !== undefined || typeof req.body !== 'object' || req.body === null) return false;
    const all = paths(req.body).filter((p) => p.length > 0);
    if (all.length === 0) return false;
    req.body = setAt(req.body, pick(r, all), Array.from({ length: pick(r, [1001, 20_000]) }, (_, i) => i));
    return true;
  },
  'body: nested 60 deep': (req, r) => {
    if (req.body === undefined || req.raw !== undefined || typeof req.body !== 'object' || req.body === null) return false;
    const all = paths(req.body).filter((p) => p.length > 0);
    if (all.length === 0) return false;
    req.body = setAt(req.body, pick(r, all), JSON.parse(deep(60)));
    return true;
  },
  'query: nasty value': (req, r, f, op) => {
    const qp = op.params.filter((p) => p.in === 'query');
    if (qp.length === 0) return false;
    const p = pick(r, qp);
    const value = p.name === 'cursor' ? pick(r, BAD_CURSORS(f)) : pick(r, [...NASTY_STRINGS.slice(0, 24), ...BAD_IDS, '-1', '0', '1e309', '100000', '2024-13-45T99:99:99Z']);
    req.query = [...req.query.filter(([k]) => k !== p.name), [p.name, value]];
    return true;
  },
  'query: repeated parameter': (req, _r, _f, op) => {
    const qp = op.params.filter((p) => p.in === 'query');
    if (qp.length === 0) return false;
    req.query = [...req.query, [qp[0].name, '1'], [qp[0].name, '2']];
    return true;
  },
  'query: unknown parameters': (req, r) => {
    req.query = [...req.query, [pick(r, ['foo', '__proto__[x]', 'constructor[prototype][y]', 'limit[]', 'siteId[$ne]', "q'"]), pick(r, NASTY_STRINGS.slice(0, 20))]];
    return true;
  },
  'header: odd accept': (req, r) => {
    req.headers.accept = pick(r, ['application/xml', 'text/html', '*/*;q=0', 'application/json;q=0, text/csv', '\u00e9']);
    return true;
  },
  'header: idempotency-key': (req, r) => {
    if (req.method !== 'POST') return false;
    req.headers['idempotency-key'] = pick(r, ['', ' ', 'x'.repeat(201), 'k\u00e9y', randomUUID(), 'a b']);
    return true;
  },
  'header: odd content-length-free body on GET': (req) => {
    if (req.method !== 'GET' || req.body !== undefined) return false;
    req.raw = '{"x":1}';
    req.headers['content-type'] = 'application/json';
    return true;
  },
};

const MUST_REFUSE_NAMES = Object.keys(MUST_REFUSE);
const ANY_NAMES = Object.keys(ANY);

/** Reads change nothing whatever is sent: everything that is not a write in this sense may be answered 2xx. */
export const isRead = (op: OpenApiOperation) => op.method === 'GET' || op.key === 'POST /v1/sites/{id}/validate' || op.key === 'POST /v1/auth/introspect';

/**
 * A hostile variant of a valid request: for a write one mutation that must get it refused and up
 * to two more of any kind; for a read one to three of any kind (with a must-refuse one now and then).
 */
export function hostile(op: OpenApiOperation, f: HostileFixture, r: Draw): HostileRequest {
  const req = validRequest(op, f, r);
  const write = !isRead(op);
  // Any-kind mutations first, so none of them can undo the one that must get a write refused.
  const extra = (write ? 0 : 1) + Math.floor(r() * 3);
  for (let i = 0, attempts = 0; i < extra && attempts < 20; attempts++) {
    const name = pick(r, ANY_NAMES);
    if (ANY[name](req, r, f, op)) {
      req.mutations.push(name);
      i++;
    }
  }
  if (write || r() < 0.3) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const name = pick(r, MUST_REFUSE_NAMES);
      if (MUST_REFUSE[name](req, r, f, op)) {
        req.mutations.push(name);
        req.mustRefuse = true;
        break;
      }
    }
  }
  return req;
}

/**
 * Percent-encodes `value` for a URL; what is pre-encoded (`%00`, `%ED%A0%80`) goes as it is, a
 * lone surrogate (which `encodeURIComponent` refuses) as the bytes a careless client would send.
 */
export function encode(value: string): string {
  if (/%[0-9A-Fa-f]{2}/.test(value)) return value;
  return [...value].map((ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
}

/** The request line's path and query, encoded as sent. */
export function target(req: HostileRequest): string {
  const qs = req.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  return qs ? `${req.path}?${qs}` : req.path;
}
