import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Api } from '../../bench/lib/http.ts';

/** The bench's own HTTP/1.1 client against a plain Node server that answers as `handler` says. */
const servers: http.Server[] = [];
async function serve(handler: http.RequestListener, keepAliveTimeout = 5_000): Promise<string> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = keepAliveTimeout;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
  });

describe("the bench's HTTP client", () => {
  it('sends the token, the JSON body and the caller\'s headers (which win), and reads status, ETag and body', async () => {
    const url = await serve(async (req, res) => {
      const body = await readBody(req);
      res.setHeader('etag', '"v2"');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], match: req.headers['if-match'], body: JSON.parse(body) }));
    });
    const api = new Api(url, 'secret', 2);
    const res = await api.request('PATCH', '/v1/x?y=1', { a: 'é' }, { 'if-match': '"v1"', 'Content-Type': 'application/merge-patch+json' });
    expect(res).toEqual({
      status: 200,
      etag: '"v2"',
      body: { method: 'PATCH', url: '/v1/x?y=1', auth: 'Bearer secret', type: 'application/merge-patch+json', match: '"v1"', body: { a: 'é' } },
    });
    await api.close();
  });

  it('reads a chunked answer written in pieces, and answers without a body', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.write('{"items":[');
      setTimeout(() => {
        res.write('1,2,');
        setTimeout(() => res.end('3]}'), 5);
      }, 5);
    });
    const api = new Api(url, 't', 1);
    expect((await api.request('GET', '/list')).body).toEqual({ items: [1, 2, 3] });
    expect(await api.request('DELETE', '/empty')).toEqual({ status: 204, etag: undefined, body: null });
    expect((await api.request('GET', '/list')).body).toEqual({ items: [1, 2, 3] }); // the same socket, still in step
    await api.close();
  });

  it('opens a new socket when the server closed one (Connection: close, or idle past its keep-alive timeout)', async () => {
    let sockets = 0;
    const url = await serve((req, res) => {
      if (req.url === '/close') res.setHeader('connection', 'close');
      res.end('{}');
    }, 100);
    servers[0].on('connection', () => sockets++);
    const api = new Api(url, 't', 1);
    expect((await api.request('GET', '/close')).status).toBe(200);
    expect((await api.request('GET', '/')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the server drops the idle socket
    expect((await api.request('GET', '/')).status).toBe(200);
    expect(sockets).toBe(3);
    await api.close();
  });

  it('keeps to its number of connections and, once closed, fails what still waits', async () => {
    let inFlight = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const url = await serve((_req, res) => {
      most = Math.max(most, ++inFlight);
      release.push(() => {
        inFlight--;
        res.end('{}');
      });
    });
    const api = new Api(url, 't', 2);
    const calls = [1, 2, 3].map(() => api.request('GET', '/'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(most).toBe(2);
    const closing = api.close();
    release.splice(0).forEach((r) => r());
    await closing;
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
  });
});
