import net from 'node:net';
import { Pool } from 'undici';

export interface HttpResult<T = unknown> {
  status: number;
  etag: string | undefined;
  body: T;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** The load generator's HTTP client: `wire` (the default) or `undici`. */
export type HttpClientKind = 'wire' | 'undici';

/**
 * A keep-alive HTTP client to rema with the bench's bearer token: one connection per concurrent
 * client, as a fleet of API clients would hold.
 *
 * The load generator shares the machine's two cores with rema and PostgreSQL, so what it spends
 * per request is taken from what is measured. By default it speaks HTTP/1.1 on its sockets
 * itself (`wire`: one request in flight per connection, the request written as one string, the
 * answer's status line, `content-length` or chunked body and ETag read, nothing else), at about
 * half the CPU per request of undici (`undici`, `--http-client undici`), which the bench used
 * before; docs/benchmarks.md gives both.
 */
export class Api {
  private readonly impl: Transport;
  constructor(
    readonly url: string,
    token: string,
    connections: number,
    kind: HttpClientKind = 'wire',
  ) {
    this.impl = kind === 'undici' ? new UndiciTransport(url, token, connections) : new WireTransport(url, token, connections);
  }

  async request<T = unknown>(method: Method, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const res = await this.impl.send(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
    return { status: res.status, etag: res.etag, body: (res.text ? JSON.parse(res.text) : null) as T };
  }

  close(): Promise<void> {
    return this.impl.close();
  }
}

interface RawResult {
  status: number;
  etag: string | undefined;
  text: string;
}

interface Transport {
  send(method: Method, path: string, body: string | undefined, headers: Record<string, string>): Promise<RawResult>;
  close(): Promise<void>;
}

class UndiciTransport implements Transport {
  private readonly pool: Pool;
  constructor(
    url: string,
    private readonly token: string,
    connections: number,
  ) {
    this.pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  async send(method: Method, path: string, body: string | undefined, headers: Record<string, string>): Promise<RawResult> {
    const res = await this.pool.request({
      method,
      path,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body,
    });
    const text = await res.body.text();
    const etag = res.headers.etag;
    return { status: res.statusCode, etag: Array.isArray(etag) ? etag[0] : etag, text };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Up to `connections` keep-alive sockets, each carrying one request at a time; requests beyond them wait in turn. */
class WireTransport implements Transport {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: WireConnection[] = [];
  private readonly waiting: Array<{ resolve: (c: WireConnection) => void; reject: (e: Error) => void }> = [];
  private opened = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly token: string,
    private readonly connections: number,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`the bench's HTTP client speaks plain http, not ${u.protocol}`);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  async send(method: Method, path: string, body: string | undefined, headers: Record<string, string>): Promise<RawResult> {
    // The caller's headers win over the defaults, as with undici.
    const all: Record<string, string> = { host: this.hostHeader, authorization: `Bearer ${this.token}` };
    if (body !== undefined) all['content-type'] = 'application/json';
    for (const name in headers) all[name.toLowerCase()] = headers[name];
    if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body));
    let request = `${method} ${path} HTTP/1.1\r\n`;
    for (const name in all) request += `${name}: ${all[name]}\r\n`;
    request += `\r\n${body ?? ''}`;
    const conn = await this.take();
    try {
      return await conn.exchange(request, REQUEST_TIMEOUT_MS);
    } finally {
      this.give(conn);
    }
  }

  private take(): Promise<WireConnection> {
    if (this.closed) return Promise.reject(new Error('HTTP client closed'));
    // A socket idle too long may be closed by the server at any moment (fastify's keep-alive
    // timeout is 72 s): such sockets are ended here rather than reused, as undici does.
    for (let conn = this.idle.pop(); conn; conn = this.idle.pop()) {
      if (!conn.broken && Date.now() - conn.lastUsed < IDLE_MS) return Promise.resolve(conn);
      conn.end();
    }
    if (this.opened < this.connections) return Promise.resolve(this.open());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private open(): WireConnection {
    this.opened++;
    return new WireConnection(this.host, this.port, () => {
      this.opened--;
      this.openForWaiting();
    });
  }

  /** A closed socket's place goes to a fresh one, for whoever waits. */
  private openForWaiting() {
    while (!this.closed && this.waiting.length > 0 && this.opened < this.connections) this.waiting.shift()?.resolve(this.open());
  }

  private give(conn: WireConnection) {
    if (this.closed) {
      conn.end();
      return;
    }
    if (conn.broken) {
      this.openForWaiting();
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(conn);
    else this.idle.push(conn);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.end();
    for (const w of this.waiting.splice(0)) w.reject(new Error('HTTP client closed'));
  }
}

/** Idle sockets older than this are not reused (below the server's keep-alive timeout). */
const IDLE_MS = 30_000;
/** A request without an answer after this fails, and its socket is dropped. */
const REQUEST_TIMEOUT_MS = 120_000;

const CRLF2 = Buffer.from('\r\n\r\n');

/** One keep-alive socket and the one exchange on it at a time. */
class WireConnection {
  broken = false;
  /** When its last exchange ended (or it opened). */
  lastUsed = Date.now();
  private gone = false;
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: RawResult) => void; reject: (e: Error) => void } | undefined;

  constructor(host: string, port: number, onGone: () => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    const fail = (err: Error) => {
      if (!this.gone) onGone();
      this.gone = true;
      this.broken = true;
      this.settle(err);
    };
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      try {
        this.parse();
      } catch (err) {
        // An answer that cannot be read: the request fails, and the socket with it.
        this.settle(err as Error);
        this.socket.destroy();
      }
    });
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  exchange(request: string, timeoutMs: number): Promise<RawResult> {
    if (this.broken) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(new Error(`no answer within ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(request);
    });
  }

  end() {
    this.broken = true;
    this.socket.end();
  }

  /** Ends the exchange in flight, if any, with `outcome`. */
  private settle(outcome: Error | RawResult) {
    const p = this.pending;
    this.pending = undefined;
    if (outcome instanceof Error) p?.reject(outcome);
    else p?.resolve(outcome);
  }

  /** Takes one whole answer off the buffer once it is in: status line, headers, body. */
  private parse() {
    const headEnd = this.buffered.indexOf(CRLF2);
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    let length = -1;
    let chunked = false;
    let etag: string | undefined;
    let close = false;
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
      else if (name === 'etag') etag = value;
      else if (name === 'connection') close = value.toLowerCase() === 'close';
    }
    const bodyStart = headEnd + 4;
    let text: string;
    let end: number;
    if (chunked) {
      const decoded = dechunk(this.buffered, bodyStart);
      if (!decoded) return;
      ({ text, end } = decoded);
    } else {
      if (length < 0) length = 0;
      if (this.buffered.length < bodyStart + length) return;
      text = this.buffered.toString('utf8', bodyStart, bodyStart + length);
      end = bodyStart + length;
    }
    this.buffered = this.buffered.subarray(end);
    this.lastUsed = Date.now();
    if (close) this.end();
    this.settle({ status, etag, text });
  }
}

/** A chunked body that starts at `from`, once all of it is in `buf`: its text and where it ends. */
function dechunk(buf: Buffer, from: number): { text: string; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('bad chunked encoding in an answer');
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers from rema: the last chunk is "0\r\n\r\n".
      if (buf.length < dataStart + 2) return undefined;
      return { text: Buffer.concat(parts).toString('utf8'), end: dataStart + 2 };
    }
    if (buf.length < dataStart + size + 2) return undefined;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}
