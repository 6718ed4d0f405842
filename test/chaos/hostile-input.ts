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
import { idFor, validRequest, type Draw, type HostileFixture, type HostileRequest, type JsonSchema, type OpenApiOperation } from './openapi-requests.ts';
import { BAD_CURSORS, BAD_ETAGS, BAD_IDS, BAD_TOKENS, CONTENT_TYPES, NASTY_STRINGS, NASTY_VALUES } from './hostile-values.ts';

export { NASTY_STRINGS } from './hostile-values.ts';
export { operationsOf, validRequest, type HostileFixture, type HostileRequest, type OpenApiOperation } from './openapi-requests.ts';

const pick = <T>(r: Draw, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function deep(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** Every JSON Pointer-ish path of `value` (objects and arrays), the root included. */
export function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (value && typeof value === 'object' && prefix.length < 6) {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

export function setAt(root: unknown, path: Array<string | number>, value: unknown, remove = false): unknown {
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
  'body: over the 1 MiB limit': (req, r) => {
    // Now and then only: each one is a megabyte on the wire.
    if (req.body === undefined || r() > 0.15) return false;
    req.raw = JSON.stringify({ pad: 'A'.repeat(1_100_000), body: req.body });
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
