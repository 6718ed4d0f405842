import type { InjectOptions } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { DeploymentRequest } from '../../src/lifecycle/deps.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { TOKEN, type Api, type Method } from '../api/helpers.ts';

/** rema (configuration and lifecycle services, no MQTT broker) on a fresh database, driven through `app.inject`. */
export interface LifecycleHarness {
  server: Server;
  db: TestDatabase;
  api: Api;
  /** Every deployment the lifecycle routes asked for: `deps.deploy` is a stub that records them. */
  deployCalls: DeploymentRequest[];
  close(): Promise<void>;
}

/**
 * Builds rema on a fresh test database with the lifecycle service's `deploy` replaced by a stub
 * that records each request and answers `{ id: 'stub-deployment-<n>' }` — the routes read
 * `deps.deploy` when they call it, so the stub is what they reach.
 *
 * @example
 *   let h: LifecycleHarness;
 *   beforeAll(async () => { h = await startLifecycleHarness(); });
 *   afterAll(() => h?.close());
 */
export async function startLifecycleHarness(): Promise<LifecycleHarness> {
  const db = await createTestDatabase();
  // Without the consumer of configuration events: these tests retire assets under installed
  // devices to see the guards refuse, which the consumer would soon undo (test/lifecycle/asset-events.test.ts).
  const server = await buildServer({ databaseUrl: db.url, token: TOKEN, events: false });
  const deployCalls: DeploymentRequest[] = [];
  server.lifecycle.deps.deploy = async (req) => {
    deployCalls.push(req);
    return { id: `stub-deployment-${deployCalls.length}` };
  };
  await server.app.ready();

  const api: Api = async <T>(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const opts: InjectOptions = { method, url, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
    if (body !== undefined) opts.payload = body as InjectOptions['payload'];
    const res = await server.app.inject(opts);
    const json = /json/.test(String(res.headers['content-type'] ?? '')) && res.body.length > 0;
    return { status: res.statusCode, headers: res.headers, body: (json ? JSON.parse(res.body) : undefined) as T, text: res.body };
  };
  return {
    server,
    db,
    api,
    deployCalls,
    async close() {
      await server.close();
      await db.drop();
    },
  };
}
