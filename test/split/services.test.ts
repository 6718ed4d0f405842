import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { buildGateway } from '../../src/gateway/gateway.ts';
import { routeOf } from '../../src/gateway/route-table.ts';
import type { HttpApp } from '../../src/http/app.ts';
import { buildServer, SERVICE_NAMES, type ServiceName, type ServiceServer } from '../../src/server.ts';

/**
 * Each service built alone (`buildServer({ only })`, in this process, on one database) and the
 * gateway in front of them: what each one owns, and what the gateway does with requests.
 */
const SECRET = 'split-services-test-secret';
const TOKEN = 'split-services-operator-token';

let db: TestDatabase;
const servers = {} as Record<ServiceName, ServiceServer>;
const urls = {} as Record<ServiceName, string>;
const schemasAfter = {} as Record<ServiceName, string[]>;
let gateway: HttpApp;
let gw: string;

const schemas = async () =>
  (await db.pool.query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname IN ('audit', 'admin', 'config', 'lifecycle') ORDER BY 1`)).rows.map((r) => r.name);

beforeAll(async () => {
  db = await createTestDatabase();
  const common = { databaseUrl: db.url, auth: { serviceSecret: SECRET }, events: { pollIntervalMs: 100 } };
  servers.admin = await buildServer({ ...common, only: 'admin', bootstrapToken: TOKEN });
  urls.admin = await servers.admin.app.listen({ port: 0, host: '127.0.0.1' });
  schemasAfter.admin = await schemas();
  servers.config = await buildServer({ ...common, only: 'config', peers: { admin: urls.admin } });
  urls.config = await servers.config.app.listen({ port: 0, host: '127.0.0.1' });
  schemasAfter.config = await schemas();
  servers.lifecycle = await buildServer({ ...common, only: 'lifecycle', peers: { admin: urls.admin, config: urls.config } });
  urls.lifecycle = await servers.lifecycle.app.listen({ port: 0, host: '127.0.0.1' });
  schemasAfter.lifecycle = await schemas();
  gateway = await buildGateway({ upstreams: urls, timeoutMs: 5000 });
  gw = await gateway.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await gateway?.close();
  for (const s of SERVICE_NAMES) await servers[s]?.close();
  await db?.drop();
});

const send = (base: string, method: string, url: string, opts: { body?: string; headers?: Record<string, string>; token?: string | null } = {}) =>
  fetch(`${base}${url}`, {
    method,
    body: opts.body,
    headers: { ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? TOKEN}` }), ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
  });

/** Sends `text` as it is on a socket of its own and returns all that comes back until the server closes it. */
const rawRequest = (base: string, text: string) =>
  new Promise<string>((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const socket = net.connect(Number(port), hostname, () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer)).on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
  });
/** The status of the last response in `answer` (after any `100 Continue`). */
const finalStatus = (answer: string) => Number([...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].at(-1)?.[1]);

const pathsOf = async (base: string) => Object.keys(((await (await fetch(`${base}/openapi.json`)).json()) as { paths: object }).paths);

describe('a service run alone', () => {
  it('migrates only its own schema and the shared audit schema', () => {
    expect(schemasAfter.admin).toEqual(['admin', 'audit']);
    expect(schemasAfter.config).toEqual(['admin', 'audit', 'config']);
    expect(schemasAfter.lifecycle).toEqual(['admin', 'audit', 'config', 'lifecycle']);
  });

  it('documents only its own routes, every one of which the gateway routes back to it', async () => {
    const owned = new Map<string, ServiceName>();
    for (const service of SERVICE_NAMES) {
      for (const path of await pathsOf(urls[service])) {
        const route = routeOf(path.replace(/\{([^}]+)\}/g, '$1'));
        if (route.kind === 'none') continue; // /healthz, /readyz, /metrics: each has its own
        if (route.kind === 'internal') continue;
        expect({ path, service: route.service }).toEqual({ path, service });
        expect(owned.get(path)).toBeUndefined();
        owned.set(path, service);
      }
    }
    expect(owned.get('/v1/audit')).toBe('admin');
    expect(owned.get('/v1/sites/{id}/drift')).toBe('lifecycle');
    expect(owned.get('/v1/assets/{id}')).toBe('config');
    expect(await pathsOf(urls.config)).not.toContain('/v1/devices');
    expect(await pathsOf(urls.lifecycle)).toContain('/v1/internal/events/lifecycle');
  });

  it('authenticates at another service with the admin service: API tokens by introspection, service tokens by the JWKS', async () => {
    expect((await send(urls.config, 'GET', '/v1/models')).status).toBe(200);
    expect((await send(urls.config, 'GET', '/v1/models', { token: 'rema_unknown' })).status).toBe(401);
    const service = await (await send(urls.admin, 'POST', '/v1/auth/service-token', { token: null, body: JSON.stringify({ service: 'test', secret: SECRET }) })).json();
    expect((await send(urls.config, 'GET', '/v1/internal/events/config', { token: (service as { accessToken: string }).accessToken })).status).toBe(200);
  });
});

describe('the gateway', () => {
  it('routes each request to its service, passing the request id on to the audit log', async () => {
    const body = JSON.stringify({ code: 'GW-1', name: 'Through the gateway', timezone: 'Europe/Berlin', network: { subnet: '10.30.0.0/24', router: '10.30.0.1' } });
    const created = await send(gw, 'POST', '/v1/sites', { body, headers: { 'x-request-id': 'via-gateway-1' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('via-gateway-1');
    const site = (await created.json()) as { id: string };
    const audit = (await (await send(gw, 'GET', `/v1/audit?requestId=via-gateway-1`)).json()) as { items: Array<{ entityId: string; service: string }> };
    expect(audit.items).toEqual([expect.objectContaining({ entityId: site.id, service: 'config' })]);

    // No id sent: the gateway makes one, and the service uses the same.
    const drift = await send(gw, 'GET', `/v1/sites/${site.id}/drift`);
    expect(drift.status).toBe(200);
    expect(drift.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await send(gw, 'GET', '/v1/devices')).status).toBe(200);
    expect((await send(gw, 'GET', '/.well-known/jwks.json', { token: null })).status).toBe(200);
  });

  it("passes bodies through unparsed: the service's own answers to bad JSON and to a body too large", async () => {
    const bad = await send(gw, 'POST', '/v1/sites', { body: '{"code": ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('INVALID_JSON');
    const huge = await send(gw, 'POST', '/v1/sites', { body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
  });

  it('passes a request on without the headers of its own hop: Expect, Keep-Alive, Upgrade', async () => {
    for (const header of ['Expect: 100-continue', 'Keep-Alive: timeout=5', 'Upgrade: h2c', 'Connection: close, x-hop\r\nX-Hop: 1']) {
      const answer = await rawRequest(gw, `GET /v1/sites?limit=1 HTTP/1.1\r\nHost: rema\r\nAuthorization: Bearer ${TOKEN}\r\n${header}\r\nConnection: close\r\n\r\n`);
      expect([header, finalStatus(answer)]).toEqual([header, 200]);
    }
  });

  it('does not route the services’ internal routes, nor the services’ own tokens, nor a path with dot segments', async () => {
    for (const url of ['/v1/internal/events/config', '/v1/%69nternal/events/admin', '/v1/internal/assets/x/deployed', '/v1/./internal/events/config', '/v1/sites/../internal/events/config', '/v1/./devices']) {
      const answer = await rawRequest(gw, `GET ${url} HTTP/1.1\r\nHost: rema\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
      expect([url, finalStatus(answer)]).toEqual([url, 404]);
    }
    const token = await send(gw, 'POST', '/v1/auth/service-token', { token: null, body: JSON.stringify({ service: 'config', secret: SECRET }) });
    expect(token.status).toBe(404);
    for (const url of ['/v1/internal/events/config', '/v1/%69nternal/events/admin', '/v1/internal/assets/x/deployed']) {
      const res = await send(gw, 'GET', url);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
    }
  });

  it('merges the services’ OpenAPI documents into one, and serves it at /docs too', async () => {
    const doc = (await (await fetch(`${gw}/openapi.json`)).json()) as { info: { title: string }; paths: Record<string, unknown>; components: { schemas: object } };
    expect(doc.info.title).toBe('rema');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/sites', '/v1/devices', '/v1/deployments', '/v1/audit', '/v1/auth/login', '/v1/assets/{id}/history']));
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/internal'))).toEqual([]);
    expect(doc.components.schemas).toHaveProperty('Problem');
    expect(await (await fetch(`${gw}/docs/json`)).json()).toEqual(doc);
    expect((await fetch(`${gw}/docs/`)).status).toBe(200);
  });

  it('is ready when every service is; a stopped service answers 503 for its routes only', async () => {
    expect(await (await fetch(`${gw}/readyz`)).json()).toMatchObject({ status: 'ok', checks: { config: 'ok', lifecycle: 'ok', admin: 'ok' } });
    await servers.lifecycle.close();
    const devices = await send(gw, 'GET', '/v1/devices');
    expect(devices.status).toBe(503);
    expect(((await devices.json()) as { code: string }).code).toBe('SERVICE_UNAVAILABLE');
    expect((await send(gw, 'GET', '/v1/models')).status).toBe(200);
    const ready = await fetch(`${gw}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { failedChecks: string[] }).failedChecks).toEqual(['lifecycle']);
  });
});
