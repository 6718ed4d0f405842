/**
 * The client side of the chaos runs: every request goes out over real HTTP (undici) to one of
 * the instances, with its own `X-Request-Id`, and every exchange is recorded — what was sent,
 * the status, body, ETag and Retry-After that came back, or that nothing came back — so the
 * oracle can hold the server to what it acknowledged.
 */
import { Agent, request } from 'undici';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What came of one request: a status, or `unsent` (connection refused: it never reached a
 * server, so it cannot have been applied), or `lost` (sent, no answer: the server may or may not
 * have applied it — a `kill -9` in flight, a timeout).
 */
export type Outcome = number | 'unsent' | 'lost';

export interface Exchange {
  n: number;
  client: number;
  instance: string;
  method: Method;
  path: string;
  requestId: string;
  body?: unknown;
  ifMatch?: string;
  outcome: Outcome;
  /** The parsed JSON answer (undefined for none or non-JSON). */
  response?: unknown;
  text?: string;
  etag?: string;
  retryAfter?: string;
  contentType?: string;
  error?: string;
  t0: number;
  t1: number;
}

export interface SendOptions {
  body?: unknown;
  /** A body sent verbatim (hostile input): no JSON encoding, `content-type` as given in headers. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Bearer token; `null` for none. */
  token?: string | null;
  /** Per-request timeout (default 20 s). */
  timeoutMs?: number;
}

const agent = new Agent({ connections: 256, keepAliveTimeout: 4000, pipelining: 0 });

const NETWORK_UNSENT = new Set(['ECONNREFUSED']);

/**
 * Sends requests and keeps every exchange. `tag` makes request ids unique per run, so the audit
 * trail of each request can be found.
 */
export class Recorder {
  readonly log: Exchange[] = [];
  private n = 0;

  constructor(
    readonly tag: string,
    private readonly token: string,
    /** Keep exchanges in `log` (the hostile run keeps only counts). */
    private readonly keep = true,
  ) {}

  async send<T = unknown>(base: { name: string; url: string }, client: number, method: Method, path: string, opts: SendOptions = {}): Promise<Exchange & { response?: T }> {
    const n = ++this.n;
    const requestId = `${this.tag}-${client}-${n}`;
    const token = opts.token === undefined ? this.token : opts.token;
    const headers: Record<string, string> = { 'x-request-id': requestId, ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
    let payload: string | Buffer | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    }
    Object.assign(headers, opts.headers);
    const ex: Exchange = { n, client, instance: base.name, method, path, requestId, body: opts.body, ifMatch: headers['if-match'], outcome: 'lost', t0: Date.now(), t1: 0 };
    try {
      const res = await request(`${base.url}${path}`, {
        method,
        headers,
        body: payload,
        dispatcher: agent,
        headersTimeout: opts.timeoutMs ?? 20_000,
        bodyTimeout: opts.timeoutMs ?? 20_000,
      });
      const text = await res.body.text();
      ex.outcome = res.statusCode;
      ex.text = text;
      const h = (name: string) => {
        const v = res.headers[name];
        return v === undefined ? undefined : String(v);
      };
      ex.etag = h('etag');
      ex.retryAfter = h('retry-after');
      ex.contentType = h('content-type');
      if (text.length > 0 && /json/.test(ex.contentType ?? '') && !/ndjson/.test(ex.contentType ?? '')) {
        try {
          ex.response = JSON.parse(text);
        } catch {
          ex.error = 'unparseable JSON answer';
        }
      }
    } catch (err) {
      const code = errorCode(err);
      ex.outcome = code && NETWORK_UNSENT.has(code) ? 'unsent' : 'lost';
      ex.error = code ?? String(err);
    }
    ex.t1 = Date.now();
    if (this.keep) this.log.push(ex);
    return ex as Exchange & { response?: T };
  }
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Status counts of a log, e.g. `{ 200: 10, 409: 3, lost: 1 }`. */
export function tally(log: readonly Pick<Exchange, 'outcome'>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of log) out[String(e.outcome)] = (out[String(e.outcome)] ?? 0) + 1;
  return out;
}

export const isWrite = (e: Pick<Exchange, 'method' | 'path'>) => e.method !== 'GET' && !/\/validate$/.test(e.path) && !/[?&]dryRun=true/.test(e.path);
export const is2xx = (e: Pick<Exchange, 'outcome'>) => typeof e.outcome === 'number' && e.outcome >= 200 && e.outcome < 300;
